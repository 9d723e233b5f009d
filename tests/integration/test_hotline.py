"""A whole hotline call driven through the voice menu, on both backends."""

from __future__ import annotations

import datetime as dt

import yaml

from tests.scenario_files import EXAMPLES
from yibao.bootstrap import App
from yibao.domain import hotline as menu
from yibao.domain.months import Month
from yibao.services import audit, cards, registry
from yibao.services.audit import Actor
from yibao.services.contributions import ContributionCmd, record_contribution
from yibao.services.contributions.crediting import run_crediting
from yibao.services.inquiry.hotline import HotlineRecordsFromStorage

PERSON = "420102199003071232"


def _caller(app: App) -> None:
    area = yaml.safe_load((EXAMPLES / "01_medical_left_out.yaml").read_text())["area"]
    with app.uow() as uow:
        registry.load_area(uow=uow, document=area)
        registry.add_employer(uow=uow, code="E001", name="Example Machinery", area_code="420100")
        registry.add_person(uow=uow, id_number=PERSON, name="Zhang Wei", area_code="420100")
        registry.register_employee(
            uow=uow, id_number=PERSON, employer_code="E001", on=dt.date(2024, 1, 10)
        )
        record_contribution(
            uow=uow,
            cmd=ContributionCmd(
                id_number=PERSON,
                received_on=dt.date(2024, 1, 15),
                insurances=("pension",),
                month=Month(2024, 1),
                base_fen=600_000,
            ),
        )
        record_contribution(
            uow=uow,
            cmd=ContributionCmd(
                id_number=PERSON,
                received_on=dt.date(2024, 2, 15),
                insurances=("pension", "medical"),
                month=Month(2024, 2),
                base_fen=600_000,
            ),
        )
        cards.issue_card(uow=uow, id_number=PERSON, card_no="A1", on=dt.date(2024, 2, 1))
        cards.activate_card(uow=uow, id_number=PERSON, on=dt.date(2024, 2, 2), pin="135790")
    run_crediting(uow_factory=app.uow, area_code="420100", month=Month(2024, 1))
    run_crediting(uow_factory=app.uow, area_code="420100", month=Month(2024, 2))


PLATFORM = Actor("12333-platform", "hotline")


def test_a_caller_proves_who_they_are_and_hears_balance_credit_and_reasons(app: App) -> None:
    _caller(app)
    records = HotlineRecordsFromStorage(app.uow, dt.date(2024, 3, 5), actor=PLATFORM)
    call, said = menu.start()
    assert "ID number" in said[0]
    call, said = menu.press(call, "42010219900307123#", records)  # 17 characters: refused
    assert "not a valid ID number" in said[0]
    call, said = menu.press(call, PERSON + "#", records)
    assert call.stage is menu.Stage.ASK_PASSWORD
    call, said = menu.press(call, "000000#", records)  # wrong password
    assert "wrong" in said[0]
    assert call.stage is menu.Stage.ASK_ID
    call, said = menu.press(call, PERSON, records)
    call, said = menu.press(call, "135790", records)
    assert call.stage is menu.Stage.MENU
    call, said = menu.press(call, "1", records)
    assert "120.00 yuan" in said[0]
    call, said = menu.press(call, "2", records)
    assert "120.00 yuan on 2024-02-29" in said[0]
    call, said = menu.press(call, "3", records)
    assert any("not medical insurance" in line for line in said)
    call, said = menu.press(call, "7", records)
    assert "not a menu choice" in said[0]
    call, said = menu.press(call, "0", records)
    assert call.stage is menu.Stage.ENDED
    with app.uow() as uow:
        trail = list(reversed(audit.entries(uow=uow, person=PERSON)))
    assert [(e.event.action, e.event.resource, e.event.outcome) for e in trail] == [
        ("identity_check", "query password", "wrong_pin"),
        ("identity_check", "query password", "ok"),
        ("inquiry", "balance:2024-03-05", "ok"),
        ("inquiry", "latest credit", "ok"),
        ("inquiry", "balance:2024-03-05", "ok"),
    ]
    assert {(e.event.actor, e.event.channel) for e in trail} == {(PLATFORM, "hotline")}
    assert not any("135790" in str(e) or "000000" in str(e) for e in trail)


def test_three_failed_identity_checks_end_the_call(app: App) -> None:
    _caller(app)
    records = HotlineRecordsFromStorage(app.uow, dt.date(2024, 3, 5), actor=PLATFORM)
    call, _ = menu.start()
    for _attempt in range(3):
        call, said = menu.press(call, PERSON, records)
        call, said = menu.press(call, "999999", records)
    assert call.stage is menu.Stage.ENDED
    assert any("Too many failed attempts" in line for line in said)
