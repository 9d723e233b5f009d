"""Calendar months ("2024-03") and dates: parsed strictly, compared as values."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from yibao.domain.errors import InvalidInput

_MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)


@dataclass(frozen=True, order=True, slots=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, value: object, *, field: str = "month") -> Month:
        if isinstance(value, dt.date):
            return cls(value.year, value.month)
        match = _MONTH.match(str(value).strip())
        if not match:
            raise InvalidInput(field, value, "is not a month; write it as YYYY-MM")
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12 or year < 1900:
            raise InvalidInput(field, value, "is not a month that exists")
        return cls(year, month)

    @classmethod
    def of(cls, day: dt.date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def from_index(cls, index: int) -> Month:
        """Inverse of `index`: months counted from year 0."""
        year, month0 = divmod(index, 12)
        return cls(year, month0 + 1)

    @property
    def index(self) -> int:
        """Months since year 0: consecutive months differ by one."""
        return self.year * 12 + self.month - 1

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def plus(self, months: int) -> Month:
        return Month.from_index(self.index + months)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def parse_date(value: object, *, field: str = "date") -> dt.date:
    """A calendar date in ISO form; a date that does not exist is refused."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(
            field, value, "is not a date that exists; write it as YYYY-MM-DD"
        ) from None


def is_month_end(day: dt.date) -> bool:
    return day == Month.of(day).last_day


def age_on(birth: dt.date, day: dt.date) -> int:
    """Age in completed years on `day`."""
    had_birthday = (day.month, day.day) >= (birth.month, birth.day)
    return day.year - birth.year - (0 if had_birthday else 1)
