"""`yibao ledger check`: the invariants, returned as problem records rather than raised."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import String, func, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from yibao.adapters.tables import LedgerAccount, LedgerTransfer
from yibao.ledger import balances, keys
from yibao.ledger.ledger import Ledger
from yibao.ledger.problems import Problem
from yibao.ledger.reconcile import reconcile
from yibao.ledger.whole_tables import read_whole_tables

__all__ = ["Problem", "check_books", "check_ledger"]

A = LedgerAccount.__table__
T = LedgerTransfer.__table__


def check_ledger(ledger: Ledger) -> list[Problem]:
    """The books' own invariants, then every posting reconciled with the record that caused it."""
    return check_books(ledger) + reconcile(ledger.session)


def check_books(ledger: Ledger) -> list[Problem]:
    """Every book sums to zero, postings stay in their book, no forbidden negative ever."""
    session = ledger.session
    read_whole_tables(session)
    missing, misbooked = transfers_off_their_books(session)
    books, below_zero = account_balances(session)
    problems = [
        Problem("accounts_exist", f"transfer {transfer_id} names an account that does not exist")
        for transfer_id in missing
    ]
    problems += [
        Problem("no_negative", f"{account.book} {account.code} holds {account.balance_fen} fen")
        for account in below_zero
        if account.balance_fen < 0
    ]
    for book, total in sorted(books.items()):
        if total != 0:
            problems.append(Problem("book_sums_to_zero", f"{book} sums to {total} fen"))
    for transfer_id in misbooked:
        problems.append(Problem("one_book_per_transfer", f"transfer {transfer_id} crosses books"))
    for transfer_id in bad_reversals(session):
        problems.append(Problem("reversal_mirrors", f"transfer {transfer_id} is a bad reversal"))
    for unclaimed, key in keys_off_their_claims(session):
        problems.append(
            Problem(
                "key_claimed_once",
                f"transfer {unclaimed} and the claim of key {key!r} do not match",
            )
        )
    for account_id, code, kept, kept_on, summed, last_on in balances.kept_balances_off(session):
        problems.append(
            Problem(
                "kept_balance_matches",
                f"account {account_id} ({code}) keeps {kept} fen, last posted {kept_on}; "
                f"its transfers sum to {summed} fen, last dated {last_on}",
            )
        )
    for account in below_zero:
        problems.append(
            Problem(
                "never_overdrawn",
                f"account {account.account_id} ({account.code}) fell to "
                f"{account.lowest_fen} fen on {account.day}",
            )
        )
    return problems


def transfers_off_their_books(session: Session) -> tuple[list[int], list[int]]:
    """(transfers naming an account that does not exist, transfers whose accounts are not both
    in the transfer's book), from one pass over the transfers.

    ledger_transfer has no foreign keys to ledger_account (migration 0006: checking them row by
    row doubled the cost of a crediting run), and the other checks join the accounts with inner
    joins, where such a transfer would go unseen: these outer joins are what find it.
    """
    debit, credit = A.alias("debit"), A.alias("credit")
    missing = or_(debit.c.id.is_(None), credit.c.id.is_(None))
    rows = session.execute(
        select(T.c.id, missing)
        .outerjoin(debit, debit.c.id == T.c.debit_account_id)
        .outerjoin(credit, credit.c.id == T.c.credit_account_id)
        .where(or_(missing, debit.c.book != T.c.book, credit.c.book != T.c.book))
        .order_by(T.c.id)
    ).all()
    return (
        [int(transfer_id) for transfer_id, unknown in rows if unknown],
        [int(transfer_id) for transfer_id, unknown in rows if not unknown],
    )


def bad_reversals(session: Session) -> list[int]:
    """Reversals that do not mirror their original exactly.

    Saying `reverses_id IS NOT NULL` lets PostgreSQL read the few reversals from their unique
    index rather than hash every posting against every other.
    """
    original = T.alias("original")
    rows = session.execute(
        select(T.c.id)
        .outerjoin(original, original.c.id == T.c.reverses_id)
        .where(
            T.c.reverses_id.is_not(None),
            or_(
                original.c.id.is_(None),  # a reversal of nothing
                original.c.amount_fen != T.c.amount_fen,
                original.c.debit_account_id != T.c.credit_account_id,
                original.c.credit_account_id != T.c.debit_account_id,
            ),
        )
        .order_by(T.c.id)
    ).scalars()
    return [int(transfer_id) for transfer_id in rows]


def keys_off_their_claims(session: Session) -> list[tuple[int | None, str | None]]:
    """(transfer id, key) of each transfer without its one claim in ledger_key, or claim
    without its transfer (PostgreSQL, whose partitioned ledger_transfer holds no unique key).

    The claim names the transfer's id, value date and the transfer it reverses: a posting
    written into a partition around the claim, or a claim edited, shows here.
    """
    if session.get_bind().dialect.name != "postgresql":
        return []
    claim = keys.K
    rows = session.execute(
        select(T.c.id, func.coalesce(claim.c.key, T.c.key))
        .join(claim, claim.c.transfer_id == T.c.id, full=True)
        .where(
            or_(
                T.c.id.is_(None),
                claim.c.key.is_(None),
                claim.c.key != T.c.key,
                claim.c.value_date != T.c.value_date,
                claim.c.reverses_id.is_distinct_from(T.c.reverses_id),
            )
        )
        .order_by(T.c.id)
    ).all()
    return [(None if i is None else int(i), None if k is None else str(k)) for i, k in rows]


@dataclass(frozen=True, slots=True)
class BelowZero:
    """A no-overdraft account that closed some day below zero."""

    account_id: int
    book: str
    code: str
    balance_fen: int  # now
    lowest_fen: int  # its lowest closing balance
    day: dt.date  # the first day the account closed at its lowest


def account_balances(session: Session) -> tuple[dict[str, int], list[BelowZero]]:
    """(each book's sum of balances, the no-overdraft accounts that ever closed a day below zero),
    from one pass over the postings.

    Each posting is split into its two signed legs once, summed per account and value date, and
    replayed in value-date order, the order `ledger balance --as-of` reads them in, not in
    posting (id) order: a posting back-dated before the credit it spent shows here. Within one
    day the credits count before the debits, so what is checked is each day's closing balance,
    the figure a statement or `--as-of` shows; the posting path itself refuses any debit the
    balance does not cover at the moment it is posted. An account's balance now is its last
    closing balance, so one below zero now is among those found.
    """
    legs = union_all(
        select(
            T.c.credit_account_id.label("account_id"), T.c.value_date, T.c.amount_fen.label("fen")
        ),
        select(
            T.c.debit_account_id.label("account_id"), T.c.value_date, (-T.c.amount_fen).label("fen")
        ),
    ).subquery("legs")
    daily = (
        select(legs.c.account_id, legs.c.value_date, func.sum(legs.c.fen).label("net"))
        .group_by(legs.c.account_id, legs.c.value_date)
        .subquery("daily")
    )
    closing = select(
        daily.c.account_id,
        daily.c.value_date,
        func.sum(daily.c.net)
        .over(partition_by=daily.c.account_id, order_by=daily.c.value_date)
        .label("balance"),
        func.sum(daily.c.net).over(partition_by=daily.c.account_id).label("total"),
    ).subquery("closing")
    ranked = select(
        closing,
        func.row_number()
        .over(partition_by=closing.c.account_id, order_by=(closing.c.balance, closing.c.value_date))
        .label("rank"),
    ).subquery("ranked")
    accounts = (
        select(
            ranked.c.account_id,
            A.c.book,
            A.c.code,
            A.c.allow_negative,
            ranked.c.total,
            ranked.c.balance.label("lowest"),
            ranked.c.value_date,
        )
        .join(A, A.c.id == ranked.c.account_id)
        .where(ranked.c.rank == 1)
        .cte("per_account")
    )
    books = select(
        literal("book", String).label("row"),
        accounts.c.book,
        null().label("code"),
        null().label("account_id"),
        func.sum(accounts.c.total).label("total"),
        null().label("lowest"),
        null().label("value_date"),
    ).group_by(accounts.c.book)
    below = select(
        literal("account", String),
        accounts.c.book,
        accounts.c.code,
        accounts.c.account_id,
        accounts.c.total,
        accounts.c.lowest,
        accounts.c.value_date,
    ).where(accounts.c.allow_negative == literal(False), accounts.c.lowest < 0)
    totals: dict[str, int] = {}
    below_zero = []
    for row, book, code, account_id, total, lowest, day in session.execute(union_all(books, below)):
        if row == "book":
            totals[str(book)] = int(total)
        else:
            below_zero.append(
                BelowZero(
                    int(account_id), str(book), str(code), int(total), int(lowest), _as_date(day)
                )
            )
    return totals, sorted(below_zero, key=lambda account: account.account_id)


def _as_date(value: object) -> dt.date:
    """SQLite returns a window's date column as text; PostgreSQL as a date."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
