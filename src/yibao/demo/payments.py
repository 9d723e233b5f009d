"""Who pays what in a month: the payment habits of a synthetic city, as pure functions.

Every habit is a deterministic function of (seed, person or employer, month), so a month can be
generated from the registry alone, in any order, and one more month can be added later:
- employers pay on a payday of their own; a few skip medical insurance in a month while paying
  pension (seed 004), and half of those pay the medical part back one or two months later;
- persons miss a month now and then, most paying it back one to three months later;
- a late-registered employee pays back the months since hiring when registered;
- some flexible workers stop paying altogether; residents pay once for the calendar year.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from statistics import NormalDist

from yibao.domain.months import Month
from yibao.domain.schemes import Scheme

ALL_INSURANCES = ("injury", "maternity", "medical", "pension", "unemployment")
WITHOUT_MEDICAL = ("injury", "pension", "unemployment")
MEDICAL_BACK_PAY = ("maternity", "medical")
FLEXIBLE_INSURANCES = ("medical", "pension")
RESIDENT_INSURANCES = ("medical",)

EMPLOYER_SKIPS_MEDICAL = 0.02  # per employer and month
EMPLOYER_PAYS_MEDICAL_BACK = 0.5
PERSON_MISSES_MONTH = 0.015  # per person and month
PERSON_PAYS_BACK = 0.6
FLEXIBLE_STOPS = 0.10  # of flexible workers, within two years of the window's start
RESIDENT_LAPSES = 0.04  # per resident and year

_MASK = (1 << 64) - 1
_NORMAL = NormalDist()
(
    _PAYDAY,
    _SKIP,
    _SKIP_BACK,
    _MISS,
    _MISS_BACK,
    _WAGE,
    _EMPLOYER_WAGE,
    _STOP,
    _LAPSE,
    _LEVEL,
    _RESIDENT_DAY,
) = range(1, 12)


def unit(*parts: int) -> float:
    """A uniform number in [0, 1) from integers: the tuple's hash (never salted for ints),
    whitened by a splitmix64 finalizer."""
    h = hash(parts) & _MASK
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _MASK
    return (h ^ (h >> 31)) / 18446744073709551616.0


@dataclass(frozen=True, slots=True)
class Payer:
    """A person's enrolment, as the registry holds it."""

    person_id: int
    birth_date: dt.date
    scheme: Scheme
    tier: str | None
    employer_id: int | None
    starts_on: dt.date
    ends_on: dt.date | None
    hired_on: dt.date | None = None

    def enrolled(self, day: dt.date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day < self.ends_on)


@dataclass(frozen=True, slots=True)
class Payment:
    month: Month  # first month paid for
    through: Month
    received_on: dt.date
    insurances: tuple[str, ...]
    base_fen: int | None  # as declared; the policy of `month` clamps it

    @property
    def is_back_pay(self) -> bool:
        return self.through < Month.of(self.received_on)


def is_resident_month(month: Month, start: Month) -> bool:
    """Residents pay for the year in its first month, or when the data window opens."""
    return month == start or month.month == 1


def payments_received(payer: Payer, month: Month, *, start: Month, seed: int) -> list[Payment]:
    """The payments for `payer` received during `month`; none before `start` is paid back."""
    if payer.scheme is Scheme.EMPLOYEE:
        return _employee(payer, month, start, seed)
    if payer.scheme is Scheme.FLEXIBLE:
        return _flexible(payer, month, start, seed)
    if payer.scheme is Scheme.RESIDENT and is_resident_month(month, start):
        return _resident(payer, month, seed)
    return []


def _employee(payer: Payer, month: Month, start: Month, seed: int) -> list[Payment]:
    employer = payer.employer_id or 0
    payday = month.first_day.replace(day=5 + int(unit(seed, _PAYDAY, employer, month.index) * 21))
    day = max(payday, payer.starts_on)
    if Month.of(day) != month or not payer.enrolled(day):
        return []
    registered = Month.of(payer.starts_on)
    hired = Month.of(payer.hired_on or payer.starts_on)
    first_due = max(hired, registered, start)

    def pay(of: Month, insurances: tuple[str, ...]) -> Payment:
        return Payment(of, of, day, insurances, _employee_base(seed, payer, of))

    def skips_medical(of: Month) -> bool:
        return unit(seed, _SKIP, employer, of.index) < EMPLOYER_SKIPS_MEDICAL

    found = []
    if registered == month:  # late registration: the months since hiring are paid back now
        found += [
            pay(start.plus(i), ALL_INSURANCES)
            for i in range(max(hired, start).index - start.index, month.index - start.index)
        ]
    for back in (1, 2, 3):
        of = month.plus(-back)
        if of < first_due:
            break
        if (
            _misses(seed, payer.person_id, of)
            and _delay(seed, _MISS_BACK, payer.person_id, of, PERSON_PAYS_BACK, 3) == back
        ):
            found.append(pay(of, ALL_INSURANCES))
        elif (
            back <= 2
            and skips_medical(of)
            and not _misses(seed, payer.person_id, of)
            and _delay(seed, _SKIP_BACK, employer, of, EMPLOYER_PAYS_MEDICAL_BACK, 2) == back
        ):
            found.append(pay(of, MEDICAL_BACK_PAY))
    if month >= first_due and not _misses(seed, payer.person_id, month):
        found.append(pay(month, WITHOUT_MEDICAL if skips_medical(month) else ALL_INSURANCES))
    return found


def _flexible(payer: Payer, month: Month, start: Month, seed: int) -> list[Payment]:
    person = payer.person_id
    day = max(
        month.first_day.replace(day=1 + int(unit(seed, _PAYDAY, person, month.index) * 28)),
        payer.starts_on,
    )
    if Month.of(day) != month or not payer.enrolled(day):
        return []
    first_due = max(Month.of(payer.starts_on), start)
    stops = unit(seed, _STOP, person) < FLEXIBLE_STOPS
    stopped_from = start.plus(1 + int(unit(seed, _STOP, person, 1) * 24)) if stops else None

    def paying(of: Month) -> bool:
        return of >= first_due and (stopped_from is None or of < stopped_from)

    level = unit(seed, _LEVEL, person)  # most choose the lowest base (60% of the average wage)
    base = 400_000 if level < 0.6 else 600_000 if level < 0.85 else 1_000_000
    found = []
    for back in (1, 2, 3):
        of = month.plus(-back)
        if (
            paying(of)
            and paying(month)
            and _misses(seed, person, of)
            and _delay(seed, _MISS_BACK, person, of, PERSON_PAYS_BACK, 3) == back
        ):
            found.append(Payment(of, of, day, FLEXIBLE_INSURANCES, base))
    if paying(month) and not _misses(seed, person, month):
        found.append(Payment(month, month, day, FLEXIBLE_INSURANCES, base))
    return found


def _resident(payer: Payer, month: Month, seed: int) -> list[Payment]:
    person = payer.person_id
    if unit(seed, _LAPSE, person, month.year) < RESIDENT_LAPSES:
        return []
    day = max(
        month.first_day.replace(day=1 + int(unit(seed, _RESIDENT_DAY, person, month.year) * 28)),
        payer.starts_on,
    )
    if Month.of(day) != month or not payer.enrolled(day):
        return []
    return [Payment(Month(month.year, 1), Month(month.year, 12), day, RESIDENT_INSURANCES, None)]


def _misses(seed: int, person_id: int, month: Month) -> bool:
    return unit(seed, _MISS, person_id, month.index) < PERSON_MISSES_MONTH


def _delay(seed: int, salt: int, who: int, month: Month, chance: float, longest: int) -> int:
    """After how many months a missed payment is made good; 0: never."""
    draw = unit(seed, salt, who, month.index)
    return 1 + int(draw / chance * longest) if draw < chance else 0


def _employee_base(seed: int, payer: Payer, month: Month) -> int:
    """The declared monthly wage base in fen: log-normal around 7,000 yuan, +5% a year."""
    z = _NORMAL.inv_cdf(min(max(unit(seed, _WAGE, payer.person_id), 1e-9), 1 - 1e-9))
    employer_factor = 0.75 + 0.75 * unit(seed, _EMPLOYER_WAGE, payer.employer_id or 0)
    wage = 7_000 * employer_factor * math.exp(0.45 * z) * 1.05 ** (month.year - 2022)
    return round(wage / 10) * 1_000
