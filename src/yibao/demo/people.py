"""Synthetic insured persons: who they are, their scheme, and their registration history.

Schemes follow the national proportions of end 2024 (RULES.md): of 1,327 million insured, 275
million working in the employee scheme, 105 million retired, the rest residents; flexible
workers are carved out of the working group. Counts are allocated exactly over index ranges, so
any chunk of persons holds the same mix as the whole city.
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_right
from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate

from faker import Faker

from yibao.demo.area import EmployerInfo, Employers
from yibao.domain.idnumber import make_id_number

_WORKING, _RETIRED, _INSURED = Fraction(275), Fraction(105), Fraction(1327)
_FLEXIBLE_OF_WORKING = Fraction(15, 100)
_BASIC_OF_FLEXIBLE = Fraction(40, 100)  # the low tier, without a personal account

# (kind, tier, share of all insured), in allocation order.
KINDS: tuple[tuple[str, str | None, Fraction], ...] = (
    ("employee", None, _WORKING * (1 - _FLEXIBLE_OF_WORKING) / _INSURED),
    ("flexible", "basic", _WORKING * _FLEXIBLE_OF_WORKING * _BASIC_OF_FLEXIBLE / _INSURED),
    ("flexible", "full", _WORKING * _FLEXIBLE_OF_WORKING * (1 - _BASIC_OF_FLEXIBLE) / _INSURED),
    ("retiree", None, _RETIRED / _INSURED),
    ("resident", None, 1 - (_WORKING + _RETIRED) / _INSURED),
)

EMPLOYEE_SHARE = float(KINDS[0][2])
NEW_HIRE, LATE_REGISTRATION, LEAVER = 0.04, 0.02, 0.03  # shares of employees
FLEXIBLE_JOINING = 0.05  # share of flexible workers who enrol during the window
_MALE_SHARE = {"employee": 0.55, "flexible": 0.5, "retiree": 0.45}
_EPOCH = dt.date(1900, 1, 1)
_DAYS = (dt.date(2100, 1, 1) - _EPOCH).days


def kinds_in_range(first: int, stop: int) -> list[tuple[str, str | None]]:
    """The (kind, tier) of persons first..stop-1, exact in total and in every range."""
    result: list[tuple[str, str | None]] = []
    cumulative = Fraction(0)
    for kind, tier, share in KINDS:
        low = cumulative
        cumulative += share
        count = (_round(stop * cumulative) - _round(stop * low)) - (
            _round(first * cumulative) - _round(first * low)
        )
        result.extend([(kind, tier)] * count)
    return result


def _round(value: Fraction) -> int:
    return int(value + Fraction(1, 2))


# id, id_number, name, birth, sex, kind, tier: the first fields of a PersonDraft
Identity = tuple[int, str, str, dt.date, str, str, str | None]


@dataclass(frozen=True, slots=True)
class PersonDraft:
    """One generated person with everything their registry rows need."""

    id: int
    id_number: str
    name: str
    birth: dt.date
    sex: str
    kind: str
    tier: str | None
    employer: EmployerInfo | None = None
    hired_on: dt.date | None = None
    registered_on: dt.date | None = None  # employee scheme starts; None: not registered yet
    left_on: dt.date | None = None
    enrolled_on: dt.date | None = None  # the scheme's first day (registration, for employees)


class IdNumbers:
    """Unique, valid ID numbers in constant memory: a counter per (region, birth day, sex)."""

    def __init__(self, regions: tuple[str, ...], taken: frozenset[str] = frozenset()) -> None:
        self.regions = regions
        self.taken = taken
        self._counts = bytearray(len(regions) * _DAYS * 2)

    def allocate(self, region_index: int, birth: dt.date, male: bool) -> str:
        day = (birth - _EPOCH).days
        for attempt in range(len(self.regions)):
            region = (region_index + attempt) % len(self.regions)
            slot = ((region * _DAYS) + day) * 2 + int(male)
            while self._counts[slot] < 250:
                count = self._counts[slot]
                self._counts[slot] = count + 1
                # sequence: odd for men, even for women; scattered, unique for count < 500
                sequence = ((count * 37 + slot * 11) % 500) * 2 + int(male)
                number = make_id_number(self.regions[region], birth, sequence)
                if number not in self.taken:
                    return number
        raise RuntimeError(f"no free ID number left for birth date {birth}")


class Names:
    """Chinese names from Faker('zh_CN'), drawn once into pools and combined quickly."""

    def __init__(self, fake: Faker, size: int = 4_000) -> None:
        self.last = [fake.last_name() for _ in range(size)]
        self.male = [fake.first_name_male() for _ in range(size)]
        self.female = [fake.first_name_female() for _ in range(size)]

    def draw(self, rng: random.Random, male: bool) -> str:
        first = self.male if male else self.female
        return rng.choice(self.last) + rng.choice(first)


@dataclass(frozen=True, slots=True)
class Window:
    first_day: dt.date
    last_day: dt.date

    def day_within(self, rng: random.Random, low: dt.date, high: dt.date) -> dt.date:
        if high <= low:
            return low
        return low + dt.timedelta(days=rng.randint(0, (high - low).days))


class PersonFactory:
    """Draws persons of a given kind: birth, sex, ID, name, employment and enrolment dates."""

    def __init__(
        self,
        *,
        rng: random.Random,
        ids: IdNumbers,
        names: Names,
        region_weights: tuple[int, ...],
        employers: Employers,
        window: Window,
    ) -> None:
        self.rng, self.ids, self.names = rng, ids, names
        self._region_cumulative = list(accumulate(region_weights))
        self.employers = employers
        self.window = window

    def person(self, person_id: int, kind: str, tier: str | None) -> PersonDraft:
        rng = self.rng
        male = rng.random() < _MALE_SHARE.get(kind, 0.5)
        age = self._age(kind, male)
        birth = self.window.first_day - dt.timedelta(days=int((age + rng.random()) * 365.2425))
        region = bisect_right(self._region_cumulative, rng.random() * self._region_cumulative[-1])
        identity: Identity = (
            person_id,
            self.ids.allocate(region, birth, male),
            self.names.draw(rng, male),
            birth,
            "M" if male else "F",
            kind,
            tier,
        )
        if kind == "employee":
            return self._employee(identity)
        if kind == "flexible":
            start = self._flexible_start(birth)
        elif kind == "retiree":
            start = _add_years(birth, 60 if male else 50)
        else:
            start = max(birth, dt.date(2016, 1, 1))
        return PersonDraft(*identity, enrolled_on=start)

    def _age(self, kind: str, male: bool) -> int:
        rng = self.rng
        if kind == "employee":
            return int(rng.triangular(18, 60 if male else 50, 33))
        if kind == "flexible":
            return int(rng.triangular(22, 60 if male else 50, 40))
        if kind == "retiree":
            return int(rng.triangular(60 if male else 50, 96, 64))
        group = rng.random()  # residents: children, students, rural adults, the elderly
        if group < 0.25:
            return rng.randint(0, 17)
        if group < 0.40:
            return rng.randint(18, 25)
        if group < 0.75:
            return rng.randint(26, 59)
        return int(rng.triangular(60, 96, 66))

    def _employee(self, identity: Identity) -> PersonDraft:
        rng, window = self.rng, self.window
        birth = identity[3]
        employer = self.employers.draw(rng)
        story = rng.random()
        if story < NEW_HIRE:
            hired = window.day_within(rng, window.first_day, window.last_day)
            registered: dt.date | None = hired + dt.timedelta(days=rng.randint(0, 20))
        elif story < NEW_HIRE + LATE_REGISTRATION:  # art. 58: more than 30 days after hiring
            hired = window.day_within(
                rng,
                window.first_day - dt.timedelta(days=60),
                window.last_day - dt.timedelta(days=75),
            )
            registered = hired + dt.timedelta(days=rng.randint(31, 75))
        else:
            earliest = max(_add_years(birth, 18), employer.established, dt.date(2005, 1, 1))
            hired = window.day_within(rng, earliest, window.first_day - dt.timedelta(days=1))
            registered = hired + dt.timedelta(days=rng.randint(0, 20))
        if registered is not None and registered > window.last_day:
            registered = None  # hired, not registered yet
        left = None
        if registered is not None and rng.random() < LEAVER:
            first = max(registered, window.first_day) + dt.timedelta(days=1)
            if first <= window.last_day:
                left = window.day_within(rng, first, window.last_day)
        return PersonDraft(
            *identity,
            employer=employer,
            hired_on=hired,
            registered_on=registered,
            left_on=left,
            enrolled_on=registered,
        )

    def _flexible_start(self, birth: dt.date) -> dt.date:
        rng, window = self.rng, self.window
        if rng.random() < FLEXIBLE_JOINING:
            return window.day_within(rng, window.first_day, window.last_day)
        earliest = max(_add_years(birth, 18), dt.date(2012, 1, 1))
        return window.day_within(rng, earliest, window.first_day - dt.timedelta(days=1))


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
