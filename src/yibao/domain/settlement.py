"""A sale at a designated institution: its line items and what the personal account pays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from yibao.domain.errors import InvalidInput
from yibao.domain.money import MAX_FEN, fen_to_yuan

MAX_QUANTITY = 2**31 - 1  # the settlement line's INTEGER column


@dataclass(frozen=True, slots=True)
class LineItem:
    catalogue_code: str
    quantity: int
    amount_fen: int
    account_may_pay: bool  # within the catalogue: the personal account may pay for it
    preselfpay_fen: int = 0  # a class B line's part the person pays first (domain.catalogue)


def line_values(line: LineItem) -> dict[str, object]:
    """The line as stored (without `dataclasses.asdict`'s deep copy)."""
    return {
        "catalogue_code": line.catalogue_code,
        "quantity": line.quantity,
        "amount_fen": line.amount_fen,
        "account_may_pay": line.account_may_pay,
    }


def line_fingerprint(line: LineItem) -> dict[str, object]:
    """The line as fingerprinted: a part paid first only where there is one, so the
    fingerprints of lines without one stay as they were."""
    values = line_values(line)
    if line.preselfpay_fen:
        values["preselfpay_fen"] = line.preselfpay_fen
    return values


def check_lines(lines: Sequence[LineItem]) -> None:
    if not lines:
        raise InvalidInput("lines", [], "must hold at least one line item")
    for line in lines:
        if line.quantity < 1:
            raise InvalidInput("quantity", line.quantity, "must be 1 or more")
        if line.quantity > MAX_QUANTITY:
            raise InvalidInput("quantity", line.quantity, f"must be at most {MAX_QUANTITY}")
        if line.amount_fen < 0:
            raise InvalidInput("amount", line.amount_fen, "must not be negative")
        if line.amount_fen > MAX_FEN:
            raise InvalidInput("amount", line.amount_fen, "is too large for an amount of money")
        if not 0 <= line.preselfpay_fen <= line.amount_fen:
            raise InvalidInput(
                "preselfpay", line.preselfpay_fen, "must lie between 0 and the amount"
            )
    if total_fen(lines) > MAX_FEN:
        raise InvalidInput(
            "total", fen_to_yuan(total_fen(lines)), "is too large for an amount of money"
        )


def total_fen(lines: Sequence[LineItem]) -> int:
    return sum(line.amount_fen for line in lines)


def eligible_fen(lines: Sequence[LineItem]) -> int:
    """What the fund and the personal account may pay for: the lines within the catalogue,
    less the parts their class B lines leave to the person first."""
    return sum(line.amount_fen - line.preselfpay_fen for line in lines if line.account_may_pay)


def personal_share(eligible: int, balance: int) -> int:
    """The personal account pays what it may, up to its balance; the rest is the person's own.

    PostgreSQL's `post_settlement` function (migration 0007) applies the same rule under the
    account's lock: keep the two alike.
    """
    return min(eligible, max(balance, 0))


@dataclass(frozen=True, slots=True)
class BillSplit:
    """A bill's three parts: the pooled fund's, the personal account's, and cash."""

    fund_fen: int
    account_fen: int
    cash_fen: int


def split_bill(*, total: int, eligible: int, fund: int, balance: int) -> BillSplit:
    """The fund pays first; the account pays what it may of the rest of the eligible part."""
    account = personal_share(eligible - fund, balance)
    return BillSplit(fund, account, total - fund - account)
