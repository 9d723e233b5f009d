"""Two reasons for a zero balance the seeds describe: pooled-only cover, and split records."""

from __future__ import annotations

import datetime as dt

import yaml
from sqlalchemy import or_, select

from tests.scenario_files import EXAMPLES
from yibao.adapters.tables import Enrollment
from yibao.bootstrap import App
from yibao.domain.idnumber import make_id_number
from yibao.domain.months import Month
from yibao.ledger import accounts
from yibao.ledger.check import check_ledger
from yibao.services import registry
from yibao.services.audit import Actor
from yibao.services.contributions import ContributionCmd, record_contribution
from yibao.services.contributions.crediting import run_crediting
from yibao.services.inquiry.explain import explain_balance
from yibao.services.registry import record_links

MAIN = "420102199003071232"
OTHER = make_id_number("420102", dt.date(1990, 3, 7), 555)

TESTER = Actor("test", "clerk")


def _area(app: App, code: str = "420100") -> None:
    area = yaml.safe_load((EXAMPLES / "01_medical_left_out.yaml").read_text())["area"]
    with app.uow() as uow:
        registry.load_area(uow=uow, document={**area, "code": code})
        registry.add_employer(uow=uow, code=f"E{code}", name="Employer", area_code=code)


def _paid_and_credited(app: App, id_number: str, employer: str, pooled_only: bool) -> None:
    with app.uow() as uow:
        registry.register_employee(
            uow=uow,
            id_number=id_number,
            employer_code=employer,
            on=dt.date(2024, 1, 2),
            pooled_only=pooled_only,
        )
        record_contribution(
            uow=uow,
            cmd=ContributionCmd(
                id_number=id_number,
                received_on=dt.date(2024, 1, 15),
                insurances=("medical", "pension"),
                month=Month(2024, 1),
                base_fen=600_000,
            ),
        )
    with app.uow() as uow:
        area = registry.person_by_id_number(uow=uow, id_number=id_number).area_code
    run_crediting(uow_factory=app.uow, area_code=area, month=Month(2024, 1))


def _codes(app: App, id_number: str, day: dt.date) -> tuple[int, list[str]]:
    with app.uow() as uow:
        records, explanation = explain_balance(
            uow=uow, id_number=id_number, as_of=day, channel="web", actor=TESTER
        )
    return records.medical_fen, explanation.codes


def test_pooled_only_cover_pays_the_pool_and_explains_the_empty_account(app: App) -> None:
    _area(app)
    with app.uow() as uow:
        registry.add_person(uow=uow, id_number=MAIN, name="Zhang", area_code="420100")
    _paid_and_credited(app, MAIN, "E420100", pooled_only=True)
    balance, codes = _codes(app, MAIN, dt.date(2024, 2, 5))
    assert balance == 0
    assert "no_personal_account_pooled_only" in codes
    assert "crediting_pending" not in codes
    with app.uow() as uow:
        pooled = uow.ledger.balance_of(accounts.pooled_fund("420100"))
    assert pooled == 48_000  # 8% of 6000.00 yuan, all to the pool


def test_records_split_in_another_area_are_found_then_merged_with_their_balance(
    app: App,
) -> None:
    _area(app, "420100")
    _area(app, "420200")
    with app.uow() as uow:
        registry.add_person(uow=uow, id_number=MAIN, name="Zhang", area_code="420100")
        registry.add_person(uow=uow, id_number=OTHER, name="Zhang", area_code="420200")
    _paid_and_credited(app, OTHER, "E420200", pooled_only=False)
    day = dt.date(2024, 2, 5)
    assert "no_records" in _codes(app, MAIN, day)[1]
    with app.uow() as uow:
        record_links.link(uow=uow, id_number=MAIN, other_id_number=OTHER, on=day)
    balance, codes = _codes(app, MAIN, day)
    assert balance == 0
    assert "records_split" in codes
    with app.uow() as uow:
        moved = record_links.merge(uow=uow, id_number=MAIN, other_id_number=OTHER, on=day)
    assert moved == 12_000
    with app.uow() as uow:
        again = record_links.merge(uow=uow, id_number=MAIN, other_id_number=OTHER, on=day)
    assert again == 0
    balance, codes = _codes(app, MAIN, day)
    assert balance == 12_000
    assert "records_split" not in codes
    assert "no_records" not in codes
    with app.uow() as uow:
        assert check_ledger(uow.ledger) == []
        assert uow.ledger.balance_of(accounts.personal_account("420200", 2)) == 0


def test_after_a_cross_area_merge_the_person_holds_one_scheme_and_nothing_is_pending(
    app: App,
) -> None:
    _area(app, "420100")
    _area(app, "420200")
    with app.uow() as uow:
        registry.add_person(uow=uow, id_number=MAIN, name="Zhang", area_code="420100")
        registry.add_person(uow=uow, id_number=OTHER, name="Zhang", area_code="420200")
    _paid_and_credited(app, OTHER, "E420200", pooled_only=False)  # employee there since 2 Jan
    with app.uow() as uow:
        registry.register_employee(
            uow=uow, id_number=MAIN, employer_code="E420100", on=dt.date(2024, 2, 1)
        )
    day = dt.date(2024, 2, 5)
    with app.uow() as uow:
        record_links.link(uow=uow, id_number=MAIN, other_id_number=OTHER, on=day)
        record_links.merge(uow=uow, id_number=MAIN, other_id_number=OTHER, on=day)

    balance, codes = _codes(app, MAIN, day)
    assert balance == 12_000
    assert "crediting_pending" not in codes
    with app.uow() as uow:
        person = registry.person_by_id_number(uow=uow, id_number=MAIN)
        open_on_day = uow.session.scalars(
            select(Enrollment).where(
                Enrollment.person_id == person.id,
                Enrollment.starts_on <= day,
                or_(Enrollment.ends_on.is_(None), Enrollment.ends_on > day),
            )
        ).all()
        assert [(e.area_code, e.starts_on) for e in open_on_day] == [
            ("420100", dt.date(2024, 2, 1))
        ]
        before = registry.scheme_on(uow=uow, person_id=person.id, day=dt.date(2024, 1, 20))
        assert before is not None
        assert before.starts_on == dt.date(2024, 1, 2)  # the history moved with the record
