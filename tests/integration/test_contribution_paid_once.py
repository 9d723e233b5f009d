"""A month's insurance is paid once: a payment repeating one is refused as `already_paid`."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, func, select

from tests.scenario_files import EXAMPLES
from yibao.adapters.tables import Contribution, LedgerTransfer
from yibao.bootstrap import App
from yibao.domain.months import Month
from yibao.ledger import accounts
from yibao.scenario.model import load_scenario
from yibao.scenario.replay import replay
from yibao.services import registry
from yibao.services.contributions import (
    AlreadyPaid,
    ContributionCmd,
    ContributionReceipt,
    record_contribution,
)
from yibao.services.contributions.crediting import run_crediting

AREA = "420100"
ZHAO_LEI = "420102198004010058"
HIRED = dt.date(2024, 1, 10)


def _area() -> dict[str, Any]:
    document = yaml.safe_load((EXAMPLES / "01_medical_left_out.yaml").read_text())
    return dict(document["area"])


def _employed(app: App) -> App:
    """Zhao Lei, an employee of E001 from 10 January 2024."""
    with app.uow() as uow:
        registry.load_area(uow=uow, document=_area())
        registry.add_employer(uow=uow, code="E001", name="Employer E001", area_code=AREA)
        registry.add_person(uow=uow, id_number=ZHAO_LEI, name="Zhao Lei", area_code=AREA)
        registry.hire(uow=uow, id_number=ZHAO_LEI, employer_code="E001", on=HIRED)
        registry.register_employee(uow=uow, id_number=ZHAO_LEI, employer_code="E001", on=HIRED)
    return app


@pytest.fixture
def employed(app: App) -> App:
    return _employed(app)


def _pay(
    app: App, received_on: dt.date, *insurances: str, month: str = "2024-01", key: str | None = None
) -> ContributionReceipt:
    cmd = ContributionCmd(
        id_number=ZHAO_LEI,
        received_on=received_on,
        insurances=insurances,
        month=Month.parse(month),
        base_fen=600_000,
        key=key,
    )
    with app.uow() as uow:
        return record_contribution(uow=uow, cmd=cmd)


def _count(app: App, table: type[Any]) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(table)) or 0)


def _personal_balance(app: App) -> int:
    with app.uow() as uow:
        person = registry.person_by_id_number(uow=uow, id_number=ZHAO_LEI)
        return uow.ledger.balance_of(accounts.personal_account(AREA, person.id))


def test_a_month_s_medical_paid_twice_is_refused_and_credited_once(employed: App) -> None:
    first = _pay(employed, dt.date(2024, 1, 15), "pension", "medical")

    with pytest.raises(AlreadyPaid, match=r"medical paid for 2024-01 already") as refused:
        _pay(employed, dt.date(2024, 1, 20), "medical")

    assert refused.value.code == "already_paid"
    assert (_count(employed, Contribution), _count(employed, LedgerTransfer)) == (1, 1)
    run_crediting(uow_factory=employed.uow, area_code=AREA, month=Month(2024, 1))
    assert _personal_balance(employed) == first.credit_fen > 0


def test_medical_paid_late_after_the_pension_is_accepted_but_not_a_second_time(
    employed: App,
) -> None:
    _pay(employed, dt.date(2024, 1, 15), "pension", "unemployment")

    late = _pay(employed, dt.date(2024, 2, 3), "medical", "maternity")

    assert late.medical_employer_fen > 0
    with pytest.raises(AlreadyPaid, match="pension"):
        _pay(employed, dt.date(2024, 2, 5), "pension", "injury")
    assert _count(employed, Contribution) == 2


def test_another_month_and_a_retry_under_the_same_reference_are_not_repeats(
    employed: App,
) -> None:
    first = _pay(employed, dt.date(2024, 1, 15), "medical", key="PAY-1")

    assert _pay(employed, dt.date(2024, 1, 15), "medical", key="PAY-1") == first
    _pay(employed, dt.date(2024, 2, 15), "medical", month="2024-02")
    assert _count(employed, Contribution) == 2


def test_a_resident_s_year_is_paid_once(employed: App) -> None:
    with employed.uow() as uow:
        registry.enroll(uow=uow, id_number=ZHAO_LEI, scheme="resident", on=dt.date(2024, 12, 1))

    def pay_year(day: dt.date) -> ContributionReceipt:
        cmd = ContributionCmd(ZHAO_LEI, day, ("medical",), year=2025)
        with employed.uow() as uow:
            return record_contribution(uow=uow, cmd=cmd)

    pay_year(dt.date(2024, 12, 10))
    with pytest.raises(AlreadyPaid, match="2025-01 to 2025-12"):
        pay_year(dt.date(2024, 12, 20))
    assert _count(employed, Contribution) == 1


def test_racing_payments_of_one_month_s_medical_succeed_exactly_once(pg_engine: Engine) -> None:
    app = _employed(App(pg_engine))
    payers = 8
    barrier = threading.Barrier(payers)
    outcomes: list[str] = []

    def pay(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            _pay(app, dt.date(2024, 1, 15), "medical", key=f"RACE-{n}")
            outcomes.append("paid")
        except AlreadyPaid:
            outcomes.append("already_paid")
        except BaseException as error:  # reported below
            outcomes.append(repr(error))

    threads = [threading.Thread(target=pay, args=(n,)) for n in range(payers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["already_paid"] * (payers - 1) + ["paid"]
    assert (_count(app, Contribution), _count(app, LedgerTransfer)) == (1, 1)


def test_the_replay_reports_a_repeated_payment_as_already_paid(
    engine: Engine, tmp_path: Path
) -> None:
    person = "420102199003071232"
    pay = {"do": "contribute", "person": person, "base": 6000}
    scenario = {
        "name": "Medical paid twice for January",
        "area": _area(),
        "employers": [{"code": "E001", "name": "Example Machinery Co."}],
        "persons": [{"id": person, "name": "Zhang Wei"}],
        "events": [
            {"date": "2023-12-01", "do": "register_employer", "employer": "E001"},
            {"date": "2024-01-02", "do": "hire", "person": person, "employer": "E001"},
            {"date": "2024-01-10", "do": "register_employee", "person": person, "employer": "E001"},
            {"date": "2024-01-15", **pay, "month": "2024-01", "insurances": ["pension"]},
            {"date": "2024-01-16", **pay, "month": "2024-01", "insurances": ["medical"]},
            {"date": "2024-01-20", **pay, "month": "2024-01", "insurances": ["medical"]},
        ],
        "queries": [],
        "expect_rejections": ["already_paid"],
    }
    path = tmp_path / "paid_twice.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))

    result = replay(load_scenario(path), engine)

    assert [r.code for r in result.rejections] == ["already_paid"]
    assert result.rejections_ok
