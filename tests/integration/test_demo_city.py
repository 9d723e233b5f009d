"""The demo city generator writes what the real services would, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select

from yibao.adapters.tables import Contribution, Employment, Enrollment, LedgerTransfer, Person
from yibao.bootstrap import App
from yibao.demo import CitySummary, credit_history, extend_city, generate_city
from yibao.domain.crediting import MedicalContribution, contribution_amounts, credit_for
from yibao.domain.idnumber import IdNumber
from yibao.domain.months import Month
from yibao.domain.schemes import Scheme
from yibao.ledger import accounts
from yibao.ledger.check import check_ledger
from yibao.services.contributions import ContributionCmd, record_contribution
from yibao.services.contributions.crediting import run_crediting
from yibao.services.registry import add_person, policy_schedule, scheme_on

AREA = "420100"
START = Month(2022, 12)  # across the area's reform month, 2023-02
MONTHS = 4
PERSONS = 200


@pytest.fixture
def city(app: App) -> CitySummary:
    return generate_city(engine=app.engine, persons=PERSONS, start=START, months=MONTHS, seed=7)


def test_the_city_has_plausible_national_proportions(app: App, city: CitySummary) -> None:
    with app.uow() as uow:
        schemes = Counter(uow.session.scalars(select(Enrollment.scheme)))
    assert sum(schemes.values()) == PERSONS  # one enrolment each (a few not registered yet)
    assert 0.65 <= schemes["resident"] / PERSONS <= 0.78  # 947 of 1,327 million
    assert 0.14 <= schemes["employee"] / PERSONS <= 0.22  # 275 million working, less flexible
    assert 0.05 <= schemes["retiree"] / PERSONS <= 0.11  # 105 million
    assert schemes["flexible"] >= 3
    assert dict(city.persons_by_kind)["flexible/basic"] >= 1  # a tier without an account
    assert city.employers >= 2
    assert city.institutions >= 3


def test_every_id_number_is_valid_unique_and_matches_birth_and_sex(
    app: App, city: CitySummary
) -> None:
    with app.uow() as uow:
        persons = uow.session.scalars(select(Person)).all()
    assert len({p.id_number for p in persons}) == len(persons) == PERSONS
    for person in persons:
        number = IdNumber.parse(person.id_number)
        assert number.region.startswith("4201")
        assert (number.birth_date, number.sex) == (person.birth_date, person.sex)
        assert person.name
        assert person.area_code == AREA
    ages = [START.first_day.year - p.birth_date.year for p in persons]
    assert min(ages) >= 0
    assert max(ages) <= 97


def test_each_contribution_holds_what_record_contribution_would_compute(
    app: App, city: CitySummary
) -> None:
    with app.uow() as uow:
        schedule = policy_schedule(uow=uow, area_code=AREA)
        rows = uow.session.execute(
            select(Contribution, Person.birth_date).join(
                Person, Person.id == Contribution.person_id
            )
        ).all()
        transfers = {
            t.key: t
            for t in uow.session.scalars(select(LedgerTransfer))
            if t.kind == "contribution"
        }
        for contribution, birth in rows:
            scheme = Scheme(contribution.scheme)
            on_receipt = scheme_on(
                uow=uow, person_id=contribution.person_id, day=contribution.received_on
            )
            assert on_receipt is not None
            assert on_receipt.scheme is scheme
            assert (on_receipt.tier, on_receipt.employer_id) == (
                contribution.tier,
                contribution.employer_id,
            )
            month = Month.parse(contribution.month)
            policy = schedule.for_month(month)
            base = contribution.base_fen or 0
            medical = "medical" in contribution.insurances.split(",")
            expected = (
                (
                    *contribution_amounts(policy, scheme, base, contribution.tier),
                    credit_for(
                        MedicalContribution(month, scheme, base, contribution.tier), policy, birth
                    ),
                )
                if medical
                else (0, 0, 0)
            )
            assert (
                contribution.medical_employer_fen,
                contribution.medical_person_fen,
                contribution.credit_fen,
            ) == expected
            if base:
                assert policy.clamp_base(base) == base
            amount = contribution.medical_employer_fen + contribution.medical_person_fen
            transfer = transfers.pop(f"contribution:{contribution.id}", None)
            if amount:
                assert transfer is not None
                assert (transfer.amount_fen, transfer.value_date) == (
                    amount,
                    contribution.received_on,
                )
            else:
                assert transfer is None
        assert not transfers
    assert city.payments.contributions == len(rows)


def test_a_larger_city_tells_the_stories_the_explainer_finds(app: App) -> None:
    city = generate_city(engine=app.engine, persons=2_000, start=START, months=6, seed=7)
    assert city.late_registrations >= 1  # late_registration
    assert city.leavers >= 1  # contributions_stopped
    assert city.payments.without_medical >= 1  # medical_not_paid
    assert city.payments.back_payments >= 1
    with app.uow() as uow:
        contributions = uow.session.scalars(select(Contribution)).all()
        jobs = uow.session.scalars(select(Employment)).all()
    residents = [c for c in contributions if c.scheme == "resident"]
    assert residents
    assert all(
        (c.month[5:], c.through_month[5:], c.base_fen) == ("01", "12", None) for c in residents
    )
    assert any(
        c.scheme == "flexible" and c.tier == "basic" and c.credit_fen == 0 for c in contributions
    )
    assert all(j.registered_on is None or j.registered_on >= j.hired_on for j in jobs)
    months = {c.month for c in contributions if c.scheme == "employee"}
    assert {str(START.plus(i)) for i in range(6)} <= months
    across_the_reform = [
        c
        for c in contributions
        if c.scheme == "employee" and c.month < "2023-02" <= c.received_on.isoformat()[:7]
    ]
    assert across_the_reform  # back pay for a month before the reform, received after it
    assert all(c.credit_fen > c.medical_person_fen for c in across_the_reform)  # old rules


def test_crediting_the_history_keeps_the_ledger_clean_and_credits_once(
    app: App, city: CitySummary
) -> None:
    runs = credit_history(uow_factory=app.uow, area_code=AREA, start=START, months=MONTHS)
    with app.uow() as uow:
        assert check_ledger(uow.ledger) == []
        retiree_credit = sum(
            t.amount_fen
            for t in uow.session.scalars(select(LedgerTransfer))
            if t.kind == "retiree_crediting"
        )
    assert sum(r.credited_fen for r in runs) == city.payments.credit_fen + retiree_credit
    again = credit_history(uow_factory=app.uow, area_code=AREA, start=START, months=MONTHS)
    assert [(r.contributions_credited, r.retirees_credited) for r in again] == [(0, 0)] * MONTHS
    with app.uow() as uow:
        assert check_ledger(uow.ledger) == []


def test_the_services_carry_on_after_a_bulk_load(app: App, city: CitySummary) -> None:
    """Ids came from a range after each table's max: the services' own inserts don't collide."""
    credit_history(uow_factory=app.uow, area_code=AREA, start=START, months=MONTHS)
    with app.uow() as uow:
        person = add_person(uow=uow, id_number="420102199003071232", name="张伟", area_code=AREA)
        employee = uow.session.scalars(
            select(Person)
            .join(Enrollment)
            .where(Enrollment.scheme == "employee", Enrollment.ends_on.is_(None))
            .limit(1)
        ).one()
        receipt = record_contribution(
            uow=uow,
            cmd=ContributionCmd(
                id_number=employee.id_number,
                received_on=START.plus(MONTHS).first_day + dt.timedelta(days=3),
                insurances=("medical", "pension"),
                month=START.plus(MONTHS),
                base_fen=800_000,
            ),
        )
        assert person.id > PERSONS
        assert receipt.credit_fen > 0
    summary = run_crediting(uow_factory=app.uow, area_code=AREA, month=START.plus(MONTHS))
    assert summary.contributions_credited == 1
    with app.uow() as uow:
        assert check_ledger(uow.ledger) == []


def test_a_city_carries_on_for_another_month(app: App, city: CitySummary) -> None:
    credit_history(uow_factory=app.uow, area_code=AREA, start=START, months=MONTHS)
    first, added = extend_city(engine=app.engine, area_code=AREA, months=1, seed=7)
    assert first == START.plus(MONTHS)
    assert added.contributions > 0
    summary = run_crediting(uow_factory=app.uow, area_code=AREA, month=first)
    assert summary.contributions_credited > 0
    assert summary.retirees_credited > 0
    with app.uow() as uow:
        assert check_ledger(uow.ledger) == []
        balances = [
            uow.ledger.balance_of(accounts.personal_account(AREA, p))
            for p in uow.session.scalars(select(Person.id))
        ]
    assert sum(1 for b in balances if b > 0) >= PERSONS * 0.2


def test_a_run_cuts_its_batches_by_count_however_sparse_the_ids(
    app: App, city: CitySummary
) -> None:
    """The month's retirees are spread over the whole enrollment table: batches still fill up."""
    credit_history(uow_factory=app.uow, area_code=AREA, start=START, months=MONTHS)
    first, _ = extend_city(engine=app.engine, area_code=AREA, months=1, seed=7)
    steps: list[tuple[int, int]] = []
    summary = run_crediting(
        uow_factory=app.uow,
        area_code=AREA,
        month=first,
        batch_size=7,
        progress=lambda done, total: steps.append((done, total)),
    )
    contributions, retirees = summary.contributions_credited, summary.retirees_credited
    assert len(steps) == -(-contributions // 7) + -(-retirees // 7)  # every batch full but one
    assert steps[-1] == (contributions + retirees, contributions + retirees)
    with app.uow() as uow:
        assert check_ledger(uow.ledger) == []


def test_a_second_city_in_the_same_area_is_refused(app: App, city: CitySummary) -> None:
    from yibao.domain.errors import Conflict

    with pytest.raises(Conflict):
        generate_city(engine=app.engine, persons=10, start=START, months=1)
