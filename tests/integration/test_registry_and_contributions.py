"""Registry, contributions and the crediting run, through the services, on both backends."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select, text, update

from tests.scenario_files import EXAMPLES
from yibao.adapters.tables import (
    AreaPolicy,
    Contribution,
    CreditingRun,
    Employment,
    LedgerTransfer,
    Person,
)
from yibao.bootstrap import App
from yibao.domain.errors import Conflict, InvalidInput, NotEnrolled
from yibao.domain.idnumber import make_id_number
from yibao.domain.months import Month
from yibao.domain.schemes import Scheme
from yibao.ledger import accounts
from yibao.ledger.check import check_ledger
from yibao.services import registry
from yibao.services.contributions import ContributionCmd, ContributionReceipt, record_contribution
from yibao.services.contributions.crediting import CreditingSummary, run_crediting
from yibao.services.uow import UnitOfWork

AREA = "420100"
YUAN = 100  # fen
ALL_FIVE = ("pension", "medical", "unemployment", "injury", "maternity")

ZHAO_LEI = "420102198004010058"  # born 1 April 1980
# 34 on 1 December 2022, 35 from 15 January 2023
TURNS_35_IN_2023 = make_id_number("420102", dt.date(1988, 1, 15), 7)


@pytest.fixture
def area_block() -> dict[str, Any]:
    """Example City from scenario 05: 2015-01 policy with age bands, 2023-01 reform without."""
    document = yaml.safe_load((EXAMPLES / "05_spent_to_zero_then_refunded.yaml").read_text())
    return dict(document["area"])


@pytest.fixture
def city(app: App, area_block: dict[str, Any]) -> App:
    """The area, its two employers, and two persons not yet employed."""
    with app.uow() as uow:
        registry.load_area(uow=uow, document=area_block)
        for code in ("E001", "E002"):
            registry.add_employer(uow=uow, code=code, name=f"Employer {code}", area_code=AREA)
        registry.add_person(uow=uow, id_number=ZHAO_LEI, name="Zhao Lei", area_code=AREA)
        registry.add_person(uow=uow, id_number=TURNS_35_IN_2023, name="Qian Li", area_code=AREA)
    return app


def _employ(app: App, id_number: str, on: dt.date, employer: str = "E001") -> None:
    with app.uow() as uow:
        registry.hire(uow=uow, id_number=id_number, employer_code=employer, on=on)
        registry.register_employee(uow=uow, id_number=id_number, employer_code=employer, on=on)


def _contribute(
    app: App,
    id_number: str,
    month: str,
    received_on: dt.date,
    base_yuan: int = 10_000,
    insurances: tuple[str, ...] = ALL_FIVE,
    key: str | None = None,
) -> ContributionReceipt:
    with app.uow() as uow:
        return _record(uow, id_number, month, received_on, base_yuan, insurances, key)


def _record(
    uow: UnitOfWork,
    id_number: str,
    month: str,
    received_on: dt.date,
    base_yuan: int = 10_000,
    insurances: tuple[str, ...] = ALL_FIVE,
    key: str | None = None,
) -> ContributionReceipt:
    """Record a payment inside the caller's unit of work (which commits it)."""
    cmd = ContributionCmd(
        id_number=id_number,
        received_on=received_on,
        insurances=insurances,
        month=Month.parse(month),
        base_fen=base_yuan * YUAN,
        key=key,
    )
    return record_contribution(uow=uow, cmd=cmd)


def _credit(app: App, month: str) -> CreditingSummary:
    return run_crediting(uow_factory=app.uow, area_code=AREA, month=Month.parse(month))


def _person_id(app: App, id_number: str) -> int:
    with app.uow() as uow:
        return registry.person_by_id_number(uow=uow, id_number=id_number).id


def _scheme_on(app: App, id_number: str, day: dt.date) -> registry.SchemeOnDay | None:
    with app.uow() as uow:
        person = registry.person_by_id_number(uow=uow, id_number=id_number)
        return registry.scheme_on(uow=uow, person_id=person.id, day=day)


def _personal_balance(app: App, id_number: str) -> int:
    person_id = _person_id(app, id_number)
    with app.uow() as uow:
        return uow.ledger.balance_of(accounts.personal_account(AREA, person_id))


def _rows(app: App, table: type[Any]) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(table)) or 0)


# -- areas and persons ----------------------------------------------------------------------
def test_loading_an_area_twice_keeps_one_copy_of_each_policy(
    app: App, area_block: dict[str, Any]
) -> None:
    for _ in range(2):
        with app.uow() as uow:
            schedule = registry.load_area(uow=uow, document=area_block)
    assert [str(p.effective_from) for p in schedule.policies] == ["2015-01", "2023-01"]
    assert _rows(app, AreaPolicy) == 2


def test_a_changed_policy_for_a_month_already_loaded_is_a_conflict(
    city: App, area_block: dict[str, Any]
) -> None:
    area_block["policies"][1]["retiree"] = {"monthly_amount": 95}
    with pytest.raises(Conflict, match="new `from` month"), city.uow() as uow:
        registry.load_area(uow=uow, document=area_block)
    with city.uow() as uow:
        schedule = registry.policy_schedule(uow=uow, area_code=AREA)
    assert schedule.for_month(Month(2024, 1)).retiree_monthly_fen == 90 * YUAN


def test_a_malformed_area_block_is_refused_and_writes_nothing(
    app: App, area_block: dict[str, Any]
) -> None:
    area_block["policies"][1]["employee"]["employee_rate"] = 1.5
    with pytest.raises(InvalidInput), app.uow() as uow:
        registry.load_area(uow=uow, document=area_block)
    assert _rows(app, AreaPolicy) == 0


def test_a_person_is_recorded_with_birth_date_and_sex_from_the_id_number(city: App) -> None:
    with city.uow() as uow:
        person = registry.person_by_id_number(uow=uow, id_number=ZHAO_LEI)
        again = registry.add_person(uow=uow, id_number=ZHAO_LEI, name="Zhao Lei", area_code=AREA)
        assert (person.birth_date, person.sex) == (dt.date(1980, 4, 1), "M")
        assert again.id == person.id


def test_adding_a_person_again_with_another_name_or_area_is_a_conflict(
    city: App, area_block: dict[str, Any]
) -> None:
    with city.uow() as uow:
        registry.load_area(uow=uow, document={**area_block, "code": "420200"})
    for name, area in (("Zhao Leiting", AREA), ("Zhao Lei", "420200")):
        with pytest.raises(Conflict, match="already recorded"), city.uow() as uow:
            registry.add_person(uow=uow, id_number=ZHAO_LEI, name=name, area_code=area)
    with city.uow() as uow:
        person = registry.person_by_id_number(uow=uow, id_number=ZHAO_LEI)
        assert (person.name, person.area_code) == ("Zhao Lei", AREA)


def test_adding_an_employer_or_institution_again_with_other_data_is_a_conflict(
    city: App,
) -> None:
    with city.uow() as uow:
        registry.add_institution(
            uow=uow, code="P001", name="Pharmacy", kind="pharmacy", area_code=AREA
        )
    with pytest.raises(Conflict, match="name 'Employer E001'"), city.uow() as uow:
        registry.add_employer(uow=uow, code="E001", name="Someone Else Ltd.", area_code=AREA)
    with pytest.raises(Conflict, match="kind 'pharmacy'"), city.uow() as uow:
        registry.add_institution(
            uow=uow, code="P001", name="Pharmacy", kind="clinic", area_code=AREA
        )
    with city.uow() as uow:  # the same data again is a no-op
        registry.add_employer(uow=uow, code="E001", name="Employer E001", area_code=AREA)
        assert registry.employer_by_code(uow=uow, code="E001").name == "Employer E001"


def test_a_person_with_an_invalid_id_number_is_refused_and_writes_nothing(city: App) -> None:
    with pytest.raises(InvalidInput, match="check character"), city.uow() as uow:
        registry.add_person(uow=uow, id_number="420102198004010059", name="X", area_code=AREA)
    assert _rows(city, Person) == 2


# -- schemes --------------------------------------------------------------------------------
def test_the_employee_scheme_starts_on_the_day_the_employer_registers_the_person(
    city: App,
) -> None:
    with city.uow() as uow:
        registry.hire(uow=uow, id_number=ZHAO_LEI, employer_code="E001", on=dt.date(2021, 1, 4))
    assert _scheme_on(city, ZHAO_LEI, dt.date(2021, 1, 10)) is None  # hired, not registered
    with city.uow() as uow:
        registry.register_employee(
            uow=uow, id_number=ZHAO_LEI, employer_code="E001", on=dt.date(2021, 1, 20)
        )
        employer_id = registry.employer_by_code(uow=uow, code="E001").id
    assert _scheme_on(city, ZHAO_LEI, dt.date(2021, 1, 19)) is None
    scheme = _scheme_on(city, ZHAO_LEI, dt.date(2021, 1, 20))
    assert scheme is not None
    assert (scheme.scheme, scheme.employer_id, scheme.tier) == (Scheme.EMPLOYEE, employer_id, None)
    assert _scheme_on(city, ZHAO_LEI, dt.date(2030, 1, 1)) == scheme


def test_an_employer_of_another_area_cannot_hire_or_register_the_person(
    city: App, area_block: dict[str, Any]
) -> None:
    with city.uow() as uow:
        registry.load_area(uow=uow, document={**area_block, "code": "420200"})
        registry.add_employer(uow=uow, code="W001", name="Elsewhere Co.", area_code="420200")
    for step in (registry.hire, registry.register_employee):
        refused = pytest.raises(InvalidInput, match="employer: 'W001' is in planning area 420200")
        with refused, city.uow() as uow:
            step(uow=uow, id_number=ZHAO_LEI, employer_code="W001", on=dt.date(2024, 1, 2))
    assert _scheme_on(city, ZHAO_LEI, dt.date(2024, 1, 2)) is None
    assert _rows(city, Employment) == 0


def test_leaving_and_enrolling_as_a_flexible_worker_change_the_scheme_from_their_days(
    city: App,
) -> None:
    _employ(city, ZHAO_LEI, dt.date(2024, 1, 10))
    with city.uow() as uow:
        registry.leave(uow=uow, id_number=ZHAO_LEI, employer_code="E001", on=dt.date(2024, 3, 31))
        registry.enroll(
            uow=uow, id_number=ZHAO_LEI, scheme="flexible", tier="full", on=dt.date(2024, 5, 1)
        )

    def scheme_on(day: dt.date) -> tuple[Scheme, str | None] | None:
        found = _scheme_on(city, ZHAO_LEI, day)
        return None if found is None else (found.scheme, found.tier)

    assert scheme_on(dt.date(2024, 1, 9)) is None
    assert scheme_on(dt.date(2024, 2, 15)) == (Scheme.EMPLOYEE, None)
    assert scheme_on(dt.date(2024, 3, 30)) == (Scheme.EMPLOYEE, None)
    assert scheme_on(dt.date(2024, 4, 15)) is None
    assert scheme_on(dt.date(2024, 4, 30)) is None
    assert scheme_on(dt.date(2024, 5, 1)) == (Scheme.FLEXIBLE, "full")


def test_a_flexible_enrolment_needs_a_tier_of_the_policy(city: App) -> None:
    for tier in (None, "gold"):
        with pytest.raises(InvalidInput, match="tier"), city.uow() as uow:
            registry.enroll(
                uow=uow, id_number=ZHAO_LEI, scheme="flexible", tier=tier, on=dt.date(2024, 5, 1)
            )
    assert _scheme_on(city, ZHAO_LEI, dt.date(2024, 5, 1)) is None


def test_the_employee_scheme_cannot_be_chosen_by_enrolment(city: App) -> None:
    with pytest.raises(InvalidInput, match="register_employee"), city.uow() as uow:
        registry.enroll(uow=uow, id_number=ZHAO_LEI, scheme="employee", on=dt.date(2024, 5, 1))


# -- contributions --------------------------------------------------------------------------
def test_an_employees_contribution_is_computed_under_the_policy_of_its_month(city: App) -> None:
    _employ(city, ZHAO_LEI, dt.date(2021, 1, 4))
    receipt = _contribute(city, ZHAO_LEI, "2021-01", dt.date(2021, 1, 20))
    assert receipt.scheme is Scheme.EMPLOYEE
    assert (receipt.medical_employer_fen, receipt.medical_person_fen) == (800 * YUAN, 200 * YUAN)
    # aged 40 on 1 January 2021: 2% own + 1.0% employer share of the 35-44 band
    assert receipt.credit_fen == 300 * YUAN
    with city.uow() as uow:
        assert uow.ledger.balance_of(accounts.pooled_fund(AREA)) == 1_000 * YUAN
        assert check_ledger(uow.ledger) == []
    assert _personal_balance(city, ZHAO_LEI) == 0  # credited by the month-end run, not now


def test_back_pay_is_credited_under_the_policy_and_age_of_its_own_month(city: App) -> None:
    _employ(city, TURNS_35_IN_2023, dt.date(2022, 1, 4))
    received = dt.date(2023, 2, 10)  # reform policy in force, and the person is now 35
    back_pay = _contribute(city, TURNS_35_IN_2023, "2022-12", received)
    current = _contribute(city, TURNS_35_IN_2023, "2023-02", received)
    # December 2022: 2015 policy, 34 on 1 December: 2% + 0.8%
    assert back_pay.credit_fen == 280 * YUAN
    # February 2023: reform policy, no employer share
    assert current.credit_fen == 200 * YUAN


def test_back_pay_is_clamped_to_the_base_floor_of_its_own_month(city: App) -> None:
    _employ(city, ZHAO_LEI, dt.date(2022, 1, 4))
    back_pay = _contribute(city, ZHAO_LEI, "2022-12", dt.date(2023, 2, 10), base_yuan=3_000)
    current = _contribute(city, ZHAO_LEI, "2023-02", dt.date(2023, 2, 10), base_yuan=3_000)
    assert back_pay.base_fen == 4_000 * YUAN
    assert current.base_fen == 4_200 * YUAN


def test_a_contribution_without_medical_credits_nothing_and_moves_no_money(city: App) -> None:
    _employ(city, ZHAO_LEI, dt.date(2024, 1, 10))
    receipt = _contribute(
        city, ZHAO_LEI, "2024-01", dt.date(2024, 1, 15), insurances=("pension", "injury")
    )
    assert receipt.medical_employer_fen == receipt.medical_person_fen == receipt.credit_fen == 0
    assert _rows(city, LedgerTransfer) == 0


def test_a_contribution_on_a_day_with_no_scheme_is_refused_and_writes_nothing(
    city: App,
) -> None:
    with city.uow() as uow:  # hired but never registered
        registry.hire(uow=uow, id_number=ZHAO_LEI, employer_code="E001", on=dt.date(2024, 1, 2))
    with pytest.raises(NotEnrolled):
        _contribute(city, ZHAO_LEI, "2024-01", dt.date(2024, 1, 15))
    assert (_rows(city, Contribution), _rows(city, LedgerTransfer)) == (0, 0)


def test_a_contribution_after_leaving_and_before_enrolling_is_refused(city: App) -> None:
    _employ(city, ZHAO_LEI, dt.date(2024, 1, 10))
    with city.uow() as uow:
        registry.leave(uow=uow, id_number=ZHAO_LEI, employer_code="E001", on=dt.date(2024, 3, 31))
        registry.enroll(
            uow=uow, id_number=ZHAO_LEI, scheme="flexible", tier="full", on=dt.date(2024, 5, 1)
        )
    with pytest.raises(NotEnrolled):
        _contribute(city, ZHAO_LEI, "2024-04", dt.date(2024, 4, 15))
    flexible = _contribute(city, ZHAO_LEI, "2024-05", dt.date(2024, 5, 10), base_yuan=5_000)
    assert flexible.scheme is Scheme.FLEXIBLE
    # the person pays the tier's 10% alone; 2% of the base is credited
    assert (flexible.medical_employer_fen, flexible.medical_person_fen) == (0, 500 * YUAN)
    assert flexible.credit_fen == 100 * YUAN
    assert _rows(city, Contribution) == 1


def test_a_contribution_for_an_invalid_id_number_is_refused_and_writes_nothing(
    city: App,
) -> None:
    _employ(city, ZHAO_LEI, dt.date(2024, 1, 10))
    with pytest.raises(InvalidInput, match="check character"):
        _contribute(city, "420102198004010059", "2024-01", dt.date(2024, 1, 15))
    assert (_rows(city, Contribution), _rows(city, LedgerTransfer)) == (0, 0)


def test_a_payment_recorded_twice_under_its_reference_is_recorded_once(city: App) -> None:
    _employ(city, ZHAO_LEI, dt.date(2024, 1, 10))
    first = _contribute(city, ZHAO_LEI, "2024-01", dt.date(2024, 1, 15), key="PAY-1")
    again = _contribute(city, ZHAO_LEI, "2024-01", dt.date(2024, 1, 15), key="PAY-1")
    assert again == first
    with pytest.raises(Conflict):
        _contribute(city, ZHAO_LEI, "2024-01", dt.date(2024, 1, 15), base_yuan=9_000, key="PAY-1")
    assert (_rows(city, Contribution), _rows(city, LedgerTransfer)) == (1, 1)


def test_a_resident_pays_the_annual_amount_and_earns_no_credit(city: App) -> None:
    with city.uow() as uow:
        registry.enroll(uow=uow, id_number=ZHAO_LEI, scheme="resident", on=dt.date(2023, 12, 1))
        receipt = record_contribution(
            uow=uow,
            cmd=ContributionCmd(
                id_number=ZHAO_LEI,
                received_on=dt.date(2023, 12, 20),
                insurances=("medical",),
                year=2024,
            ),
        )
    assert (receipt.month, receipt.through_month) == ("2024-01", "2024-12")
    assert (receipt.medical_person_fen, receipt.credit_fen) == (400 * YUAN, 0)
    _credit(city, "2023-12")
    assert _personal_balance(city, ZHAO_LEI) == 0


# -- the crediting run ----------------------------------------------------------------------
def test_the_month_end_run_credits_each_contribution_once_however_often_it_runs(
    city: App,
) -> None:
    _employ(city, ZHAO_LEI, dt.date(2021, 1, 4))
    _contribute(city, ZHAO_LEI, "2021-01", dt.date(2021, 1, 20))
    first = _credit(city, "2021-01")
    transfers = _rows(city, LedgerTransfer)
    second = _credit(city, "2021-01")
    assert (first.contributions_credited, first.credited_fen) == (1, 300 * YUAN)
    assert not first.already_complete
    assert second.already_complete
    assert second.contributions_credited == 0
    assert _rows(city, LedgerTransfer) == transfers
    assert _personal_balance(city, ZHAO_LEI) == 300 * YUAN
    with city.uow() as uow:
        assert check_ledger(uow.ledger) == []


def test_a_payment_received_after_the_month_end_is_credited_by_the_next_run(city: App) -> None:
    _employ(city, ZHAO_LEI, dt.date(2021, 1, 4))
    _contribute(city, ZHAO_LEI, "2021-01", dt.date(2021, 2, 3))  # January, paid late
    assert _credit(city, "2021-01").contributions_credited == 0
    assert _personal_balance(city, ZHAO_LEI) == 0
    assert _credit(city, "2021-02").contributions_credited == 1
    assert _personal_balance(city, ZHAO_LEI) == 300 * YUAN


def test_a_payment_dated_on_or_before_a_completed_run_is_refused(city: App) -> None:
    _employ(city, ZHAO_LEI, dt.date(2021, 1, 4))
    _credit(city, "2021-01")
    with pytest.raises(Conflict, match="has run"):
        _contribute(city, ZHAO_LEI, "2021-01", dt.date(2021, 1, 31))
    assert _rows(city, Contribution) == 0


def test_a_payment_dated_within_a_run_that_started_and_did_not_finish_is_refused(
    city: App,
) -> None:
    """The run read what was received up to its day when it started: a later entry would be lost."""
    _employ(city, ZHAO_LEI, dt.date(2021, 1, 4))
    with city.uow() as uow:  # a run that was killed after it started
        uow.session.add(
            CreditingRun(area_code=AREA, month="2021-01", run_date=dt.date(2021, 1, 31))
        )
    with pytest.raises(Conflict, match="is running"):
        _contribute(city, ZHAO_LEI, "2021-01", dt.date(2021, 1, 31))
    _contribute(city, ZHAO_LEI, "2021-01", dt.date(2021, 2, 1))
    assert _rows(city, Contribution) == 1


def test_a_run_starting_while_a_payment_is_being_recorded_waits_for_it_and_credits_it(
    city: App,
) -> None:
    _employ(city, ZHAO_LEI, dt.date(2020, 12, 1))
    _contribute(city, ZHAO_LEI, "2020-12", dt.date(2020, 12, 20))
    _credit(city, "2020-12")  # every account the next run touches exists already
    summaries: list[CreditingSummary] = []
    run = threading.Thread(target=lambda: summaries.append(_credit(city, "2021-01")))
    with city.uow() as uow:
        _record(uow, ZHAO_LEI, "2021-01", dt.date(2021, 1, 31))
        run.start()
        run.join(timeout=1.0)
        assert run.is_alive()  # the run waits for the payment's transaction to end
    run.join(timeout=60)
    assert summaries[0].contributions_credited == 1
    assert _personal_balance(city, ZHAO_LEI) == 600 * YUAN


def test_retirees_are_credited_the_fixed_amount_of_each_months_policy(city: App) -> None:
    with city.uow() as uow:
        registry.enroll(uow=uow, id_number=ZHAO_LEI, scheme="retiree", on=dt.date(2022, 11, 15))
    assert _credit(city, "2022-10").retirees_credited == 0
    november = _credit(city, "2022-11")
    assert (november.retirees_credited, november.credited_fen) == (1, 80 * YUAN)
    assert _credit(city, "2022-11").retirees_credited == 0  # a re-run credits nothing new
    assert _credit(city, "2022-12").credited_fen == 80 * YUAN
    assert _credit(city, "2023-01").credited_fen == 90 * YUAN  # the reform policy's amount
    assert _personal_balance(city, ZHAO_LEI) == (80 + 80 + 90) * YUAN
    with city.uow() as uow:
        assert check_ledger(uow.ledger) == []


def test_a_month_keeps_the_retiree_keys_its_run_began_with(city: App) -> None:
    """A run begun before migration 0032 keyed a retiree's credit by person first; resumed
    after it, the month is finished and checked under those keys, while a month first credited
    since is keyed by its month first. The ledger check reads each run's form: told the wrong
    one, it finds every credit of that month missing and unexplained."""
    with city.uow() as uow:
        registry.enroll(uow=uow, id_number=ZHAO_LEI, scheme="retiree", on=dt.date(2022, 11, 15))
        uow.session.execute(  # as the run was left before the upgrade: no form named
            text(
                "INSERT INTO crediting_run (area_code, month, run_date, credited_count,"
                " credited_fen) VALUES (:area, '2022-11', :day, 0, 0)"
            ),
            {"area": AREA, "day": dt.date(2022, 11, 30)},
        )
    assert (
        _credit(city, "2022-11").retirees_credited,
        _credit(city, "2022-12").retirees_credited,
    ) == (1, 1)
    person = _person_id(city, ZHAO_LEI)
    with city.uow() as uow:
        keys = uow.session.scalars(
            select(LedgerTransfer.key)
            .where(LedgerTransfer.kind == "retiree_crediting")
            .order_by(LedgerTransfer.key)
        ).all()
        assert keys == [f"retiree:2022-12:p{person}", f"retiree:p{person}:2022-11"]
        forms = {
            str(month): str(form)
            for month, form in uow.session.execute(
                select(CreditingRun.month, CreditingRun.retiree_keys)
            )
        }
        assert forms == {"2022-11": "by_person", "2022-12": "by_month"}
        assert check_ledger(uow.ledger) == []
    assert _credit(city, "2022-11").retirees_credited == 0  # a re-run credits nothing new
    assert _credit(city, "2022-12").retirees_credited == 0
    with city.uow() as uow:
        uow.session.execute(
            update(CreditingRun)
            .where(CreditingRun.month == "2022-11")
            .values(retiree_keys="by_month")
        )
        problems = check_ledger(uow.ledger)
        uow.session.rollback()
    assert {(problem.invariant, problem.detail.split("key ")[-1]) for problem in problems} >= {
        ("cause_posted", f"retiree:2022-11:p{person})"),  # looked for under the other form
    }
    assert any(f"retiree:p{person}:2022-11" in problem.detail for problem in problems)
    assert _personal_balance(city, ZHAO_LEI) == 2 * 80 * YUAN


def test_a_retirees_own_medical_payment_credits_nothing_beyond_the_fixed_amount(
    city: App,
) -> None:
    with city.uow() as uow:
        registry.enroll(uow=uow, id_number=ZHAO_LEI, scheme="retiree", on=dt.date(2024, 1, 1))
    receipt = _contribute(city, ZHAO_LEI, "2024-01", dt.date(2024, 1, 15))
    assert (receipt.medical_person_fen, receipt.credit_fen) == (0, 0)
    _credit(city, "2024-01")
    assert _personal_balance(city, ZHAO_LEI) == 90 * YUAN
