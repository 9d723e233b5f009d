"""The crediting run credits each person-month at most once, and only months that have ended."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from sqlalchemy import Engine, func, insert, select

from tests.scenario_files import EXAMPLES
from yibao.adapters.tables import Contribution, CreditingRun, LedgerTransfer
from yibao.bootstrap import App
from yibao.domain.months import Month
from yibao.ledger import accounts
from yibao.services import registry
from yibao.services.contributions import ContributionCmd, record_contribution
from yibao.services.contributions.crediting import MonthNotEnded, run_crediting

AREA = "420100"
ZHAO_LEI = "420102198004010058"
TODAY = dt.date(2024, 6, 15)


@pytest.fixture
def app(engine: Engine) -> App:
    """Example City on 15 June 2024, Zhao Lei employed by E001 since January."""
    app = App(engine, today=lambda: TODAY)
    document = yaml.safe_load((EXAMPLES / "05_spent_to_zero_then_refunded.yaml").read_text())
    with app.uow() as uow:
        registry.load_area(uow=uow, document=document["area"])
        registry.add_employer(uow=uow, code="E001", name="Employer E001", area_code=AREA)
        registry.add_person(uow=uow, id_number=ZHAO_LEI, name="Zhao Lei", area_code=AREA)
    with app.uow() as uow:
        on = dt.date(2024, 1, 2)
        registry.hire(uow=uow, id_number=ZHAO_LEI, employer_code="E001", on=on)
        registry.register_employee(uow=uow, id_number=ZHAO_LEI, employer_code="E001", on=on)
    return app


def _pay(app: App, month: str, received_on: dt.date) -> int:
    """Record a payment with medical; returns its credit in fen."""
    cmd = ContributionCmd(
        id_number=ZHAO_LEI,
        received_on=received_on,
        insurances=("pension", "medical"),
        month=Month.parse(month),
        base_fen=1_000_000,
    )
    with app.uow() as uow:
        receipt = record_contribution(uow=uow, cmd=cmd)
        return int(uow.session.get_one(Contribution, receipt.contribution_id).credit_fen)


def _store_a_second_copy(app: App, month: str, received_on: dt.date) -> None:
    """What old data may hold: the same person-month paid twice with medical."""
    with app.uow() as uow:
        first = uow.session.scalars(select(Contribution).where(Contribution.month == month)).one()
        columns = {c.key: getattr(first, c.key) for c in Contribution.__table__.columns}
        copy = {**columns, "key": f"{first.key}:again", "received_on": received_on}
        del copy["id"]
        uow.session.execute(insert(Contribution).values(copy))


def _credit(app: App, month: str) -> None:
    run_crediting(uow_factory=app.uow, area_code=AREA, month=Month.parse(month))


def _balance(app: App) -> int:
    with app.uow() as uow:
        person = registry.person_by_id_number(uow=uow, id_number=ZHAO_LEI)
        return uow.ledger.balance_of(accounts.personal_account(AREA, person.id))


def _credits(app: App) -> int:
    with app.uow() as uow:
        query = select(func.count()).where(LedgerTransfer.kind == "crediting")
        return int(uow.session.scalar(query) or 0)


def test_two_stored_payments_of_one_person_month_are_credited_once(app: App) -> None:
    credit = _pay(app, "2024-03", dt.date(2024, 3, 10))
    _store_a_second_copy(app, "2024-03", dt.date(2024, 3, 10))

    _credit(app, "2024-03")

    assert credit > 0
    assert _credits(app) == 1
    assert _balance(app) == credit


def test_a_second_payment_of_a_credited_month_is_not_credited_in_a_later_run(app: App) -> None:
    credit = _pay(app, "2024-03", dt.date(2024, 3, 10))
    _credit(app, "2024-03")
    _store_a_second_copy(app, "2024-03", dt.date(2024, 4, 5))

    _credit(app, "2024-04")
    _credit(app, "2024-04")

    assert _credits(app) == 1
    assert _balance(app) == credit


def test_a_back_payment_of_another_month_is_still_credited(app: App) -> None:
    march = _pay(app, "2024-03", dt.date(2024, 3, 10))
    february = _pay(app, "2024-02", dt.date(2024, 4, 5))

    _credit(app, "2024-03")
    _credit(app, "2024-04")

    assert _balance(app) == march + february


@pytest.mark.parametrize("month", ["2024-06", "2024-07"])
def test_a_month_that_has_not_ended_is_not_credited(app: App, month: str) -> None:
    _pay(app, "2024-06", dt.date(2024, 6, 3))

    with pytest.raises(MonthNotEnded) as refused:
        _credit(app, month)

    assert refused.value.field == "month"
    assert _credits(app) == 0
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(CreditingRun)) == 0


def test_a_month_whose_last_day_was_yesterday_is_credited(engine: Engine, app: App) -> None:
    credit = _pay(app, "2024-05", dt.date(2024, 5, 31))
    on_june_first = App(engine, today=lambda: dt.date(2024, 6, 1))

    _credit(on_june_first, "2024-05")

    assert _balance(app) == credit
