"""The 18-character citizen ID number, which is also the social security number (art. 58)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from yibao.domain.errors import InvalidInput

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"  # ISO 7064 MOD 11-2, indexed by the weighted sum mod 11
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")  # ASCII only: full-width digits are not the same


def check_character(first17: str) -> str:
    """The check character for the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


@dataclass(frozen=True, slots=True)
class IdNumber:
    value: str

    @classmethod
    def parse(cls, raw: object, *, field: str = "id_number") -> IdNumber:
        text = str(raw).strip().upper()
        if not _SHAPE.match(text):
            raise InvalidInput(
                field, mask(text), "is not an ID number: 17 digits and a digit or X are expected"
            )
        if check_character(text[:17]) != text[17]:
            raise InvalidInput(field, mask(text), "has a wrong check character; check the number")
        try:
            dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
        except ValueError:
            raise InvalidInput(
                field, mask(text), "holds a birth date that does not exist"
            ) from None
        return cls(text)

    @property
    def birth_date(self) -> dt.date:
        return dt.date(int(self.value[6:10]), int(self.value[10:12]), int(self.value[12:14]))

    @property
    def sex(self) -> str:
        """'M' or 'F', from the parity of the 17th digit."""
        return "M" if int(self.value[16]) % 2 else "F"

    @property
    def region(self) -> str:
        return self.value[:6]

    @property
    def masked(self) -> str:
        return mask(self.value)

    def __str__(self) -> str:
        return self.value


def mask(id_number: str) -> str:
    """Show only the first four and last four characters: 4201**********1232."""
    if len(id_number) <= 8:
        return "*" * len(id_number)
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]


def make_id_number(region: str, birth: dt.date, sequence: int) -> str:
    """A valid ID number (demo data, tests): 6-digit region, birth date, 3-digit sequence."""
    first17 = f"{region}{birth:%Y%m%d}{sequence % 1000:03d}"
    return first17 + check_character(first17)
