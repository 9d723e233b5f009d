"""The national medical insurance platform's protocol, its pure rules: the gateway's
signature, the message id, and how a settlement's amounts are cut into the protocol's parts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from yibao.domain.catalogue import LineVerdict
from yibao.domain.errors import InvalidInput
from yibao.domain.money import round_half_up_to_fen, yuan_to_fen

SIGNATURE_WINDOW_SECONDS = 300  # the gateway refuses a timestamp further off than this
_MSGID = re.compile(r"[0-9A-Za-z]{12,16}[0-9]{18}")


def gateway_signature(timestamp: str, token: str, nonce: str) -> str:
    """x-tif-signature: hex SHA-256 of timestamp + token + nonce + timestamp."""
    return hashlib.sha256(f"{timestamp}{token}{nonce}{timestamp}".encode()).hexdigest()


def signature_matches(given: str, timestamp: str, token: str, nonce: str) -> bool:
    return hmac.compare_digest(given.lower(), gateway_signature(timestamp, token, nonce))


def check_msgid(msgid: object) -> str:
    """Institution code + yyyyMMddHHmmss + a 4-digit sequence: 30 characters."""
    written = "" if msgid is None else str(msgid)
    if len(written) != 30 or not _MSGID.fullmatch(written):
        raise InvalidInput(
            "msgid", msgid, "is not an institution code + yyyyMMddHHmmss + 4 digits (30 characters)"
        )
    return written


@dataclass(frozen=True, slots=True)
class SettlementCut:
    """A settled bill in the protocol's parts, all in fen."""

    medfee_sumamt: int
    fulamt_ownpay_amt: int  # class C lines
    preselfpay_amt: int  # class B parts paid first
    inscp_scp_amt: int  # the eligible part
    act_pay_dedc: int  # the deductible taken
    pool_prop_selfpay: int  # above the deductible, the person's share of the fund's ratio
    overlmt_selfpay: int  # what the fund would have paid above its cap
    fund_pay_sumamt: int
    acct_pay: int
    psn_cash_pay: int

    @property
    def psn_part_amt(self) -> int:
        return self.medfee_sumamt - self.fund_pay_sumamt


def cut_settlement(
    *,
    verdicts: Sequence[LineVerdict],
    deductible_fen: int,
    ratio: Decimal,
    fund_fen: int,
    account_fen: int,
    cash_fen: int,
) -> SettlementCut:
    eligible = sum(v.eligible_fen for v in verdicts)
    own = sum(v.fulamt_ownpay_fen for v in verdicts)
    pre = sum(v.preselfpay_fen for v in verdicts)
    above = max(eligible - deductible_fen, 0) if ratio > 0 else 0  # a fund that pays nothing
    fund_would_pay = round_half_up_to_fen(ratio * above)
    return SettlementCut(
        medfee_sumamt=fund_fen + account_fen + cash_fen,
        fulamt_ownpay_amt=own,
        preselfpay_amt=pre,
        inscp_scp_amt=eligible,
        act_pay_dedc=deductible_fen,
        pool_prop_selfpay=above - fund_would_pay,
        overlmt_selfpay=max(fund_would_pay - fund_fen, 0),
        fund_pay_sumamt=fund_fen,
        acct_pay=account_fen,
        psn_cash_pay=cash_fen,
    )


def yuan(fen: int) -> Decimal:
    """An amount as the protocol writes it: a JSON number with two decimals."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def fen_of(value: object, *, field: str) -> int:
    """A protocol amount (a JSON number, read exactly, or a numeric string) in fen."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise InvalidInput(field, value, "is not an amount")
    return yuan_to_fen(value, field=field)


def to_json(value: object) -> str:
    """JSON with Decimals written as numbers exactly as they are (12.50 stays 12.50).

    The C encoder writes everything; a Decimal goes through it as a string behind a mark no
    client can guess, and comes out of its quotes as the number it is.
    """
    written = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_marked)
    return _MARKED_NUMBER.sub(r"\1", written) if _MARK_WRITTEN in written else written


_MARK = "\x00" + secrets.token_hex(8) + ":"
_MARK_WRITTEN = json.dumps(_MARK)[1:-1]
_MARKED_NUMBER = re.compile('"' + re.escape(_MARK_WRITTEN) + r'([^"\\]*)"')


def _marked(value: object) -> str:
    return _MARK + str(value) if isinstance(value, Decimal) else str(value)
