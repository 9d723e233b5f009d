"""The demo city's rules, without a database: the national mix, ID numbers, payment habits."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from yibao.demo.payments import (
    ALL_INSURANCES,
    Payer,
    Payment,
    payments_received,
)
from yibao.demo.people import IdNumbers, kinds_in_range
from yibao.domain.idnumber import IdNumber
from yibao.domain.months import Month
from yibao.domain.schemes import Scheme

START = Month(2024, 1)


def test_any_range_of_persons_holds_the_national_mix_exactly() -> None:
    whole = Counter(kind for kind, _ in kinds_in_range(0, 1_327))
    assert whole == {"resident": 947, "employee": 234, "retiree": 105, "flexible": 41}
    pieces = Counter(
        kind
        for low in range(0, 1_327, 100)
        for kind, _ in kinds_in_range(low, min(low + 100, 1_327))
    )
    assert pieces == whole


def test_id_numbers_stay_unique_and_valid_when_many_share_a_birthday() -> None:
    numbers = IdNumbers(("420102", "420103"))
    birth = dt.date(1990, 3, 7)
    made = [numbers.allocate(0, birth, male=i % 2 == 0) for i in range(600)]
    assert len(set(made)) == 600
    parsed = [IdNumber.parse(n) for n in made]
    assert {p.birth_date for p in parsed} == {birth}
    assert Counter(p.sex for p in parsed) == {"M": 300, "F": 300}
    assert {p.region for p in parsed} == {"420102", "420103"}  # the first region filled up


def test_id_numbers_skip_those_already_taken() -> None:
    first = IdNumbers(("420102",)).allocate(0, dt.date(1980, 1, 1), male=True)
    again = IdNumbers(("420102",), taken=frozenset({first})).allocate(0, dt.date(1980, 1, 1), True)
    assert again != first


def _employee(**changes: object) -> Payer:
    values: dict[str, object] = {
        "person_id": 17,
        "birth_date": dt.date(1990, 3, 7),
        "scheme": Scheme.EMPLOYEE,
        "tier": None,
        "employer_id": 3,
        "starts_on": dt.date(2020, 5, 10),
        "ends_on": None,
        "hired_on": dt.date(2020, 5, 1),
    }
    values.update(changes)
    return Payer(**values)  # type: ignore[arg-type]


def _months_paid(payer: Payer, months: int, seed: int = 1) -> list[Payment]:
    return [
        payment
        for offset in range(months)
        for payment in payments_received(payer, START.plus(offset), start=START, seed=seed)
    ]


def test_a_late_registered_employee_pays_back_the_months_since_hiring() -> None:
    payer = _employee(hired_on=dt.date(2024, 1, 20), starts_on=dt.date(2024, 3, 5))
    paid = _months_paid(payer, 3)
    received_in_march = [p for p in paid if Month.of(p.received_on) == Month(2024, 3)]
    assert {p.month for p in received_in_march} >= {Month(2024, 1), Month(2024, 2)}
    assert all(p.received_on >= payer.starts_on for p in paid)


def test_nobody_pays_after_leaving_or_before_registration() -> None:
    payer = _employee(starts_on=dt.date(2023, 6, 1), ends_on=dt.date(2024, 2, 1))
    paid = _months_paid(payer, 6)
    assert all(p.received_on < dt.date(2024, 2, 1) for p in paid)
    assert not _months_paid(_employee(starts_on=dt.date(2025, 1, 1), hired_on=None), 6)


def test_residents_pay_once_a_year_and_retirees_never() -> None:
    resident = _employee(scheme=Scheme.RESIDENT, employer_id=None, hired_on=None)
    paid = [p for seed in range(1, 30) for p in _months_paid(resident, 14, seed)]
    assert paid
    assert {(p.month, p.through, p.base_fen) for p in paid} <= {
        (Month(2024, 1), Month(2024, 12), None),
        (Month(2025, 1), Month(2025, 12), None),
    }
    assert not _months_paid(_employee(scheme=Scheme.RETIREE), 14)


def test_over_many_people_some_months_are_missed_and_paid_back_later() -> None:
    paid = [
        p
        for person in range(2_000)
        for p in _months_paid(_employee(person_id=person, employer_id=person % 60), 6)
    ]
    back = [p for p in paid if p.is_back_pay]
    assert back
    assert all(p.received_on > p.month.last_day for p in back)
    assert any("medical" not in p.insurances for p in paid)  # medical_not_paid
    assert Counter(p.insurances for p in paid).most_common(1)[0][0] == ALL_INSURANCES
