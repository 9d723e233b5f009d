"""Money is an integer number of fen (1/100 yuan); yuan strings like "12.30" only at the edges."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from yibao.domain.errors import InvalidInput

FEN_PER_YUAN = 100
MIN_FEN, MAX_FEN = -(2**63), 2**63 - 1  # the ledger's BIGINT

# Written numbers: ASCII digits with an optional sign and point. Decimal() alone would also take
# "1e3", "1_000", full-width and Arabic-Indic digits, none of which a clerk means as an amount.
_WRITTEN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def parse_decimal(value: object, *, field: str) -> Decimal:
    """Read a number exactly: ints and strings only, never through binary floating point."""
    if isinstance(value, bool):
        raise InvalidInput(field, value, "is not a number")
    if isinstance(value, float):
        # YAML floats reach us already rounded by the parser; their repr is the written text.
        text = repr(value)
    elif isinstance(value, int | Decimal):
        text = str(value)
    else:
        text = str(value).strip()
        if not _WRITTEN_NUMBER.fullmatch(text):
            raise InvalidInput(field, value, "is not a number written in the digits 0-9")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(field, value, "is not a number") from None
    if not number.is_finite():
        raise InvalidInput(field, value, "is not a finite number")
    return number


def yuan_to_fen(value: object, *, field: str = "amount", allow_negative: bool = False) -> int:
    """Parse a yuan amount with at most two decimals into fen."""
    number = parse_decimal(value, field=field)
    if not MIN_FEN <= number * FEN_PER_YUAN <= MAX_FEN:
        raise InvalidInput(field, value, "is too large for an amount of money")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and number != number.quantize(Decimal("0.01")):
        raise InvalidInput(field, value, "has more than two decimals; amounts are exact to the fen")
    if number < 0 and not allow_negative:
        raise InvalidInput(field, value, "is negative; give an amount of zero or more")
    return int(number * FEN_PER_YUAN)


def fen_to_yuan(fen: int) -> str:
    """Format fen as a yuan string with two decimals: 1230 -> "12.30"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole}.{cents:02d}"


def round_half_up_to_fen(fen: Decimal) -> int:
    """Round an exact fen amount half up (away from zero at .5) to a whole fen."""
    return int(fen.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_rate(value: object, *, field: str) -> Decimal:
    """A rate such as 0.08; must lie between 0 and 1."""
    rate = parse_decimal(value, field=field)
    if rate < 0 or rate > 1:
        raise InvalidInput(field, value, "is not a rate between 0 and 1")
    return rate
