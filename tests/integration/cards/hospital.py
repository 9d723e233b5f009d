"""Example City with a pooled fund (FORMAT.md `pooled`), hospitals of levels 1 and 3, and
patients in each scheme: the world of the pooled-fund tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.integration.cards.cardholders import AREA, DAY, SECRET, area_document
from yibao.adapters.tables import Person
from yibao.bootstrap import App
from yibao.domain.pooled import Visit
from yibao.services import registry, settlement
from yibao.services.cards import electronic_card
from yibao.services.contributions import ContributionCmd, record_contribution
from yibao.services.settlement import CardAndPin, ElectronicCard, LineItem, Receipt, SettleCmd

POOLED: dict[str, Any] = {
    "employee": {
        "outpatient": {"deductible": 200, "ratio": {"1": 0.70, "2": 0.60, "3": 0.50},
                       "annual_cap": 2000},
        "inpatient": {"deductible": {"1": 300, "2": 600, "3": 900},
                      "ratio": {"1": 0.92, "2": 0.88, "3": 0.85}, "annual_cap": 300000},
        "retiree_ratio_bonus": 0.05,
    },
    "resident": {
        "outpatient": {"deductible": 0, "ratio": 0.50, "annual_cap": 400},
        "inpatient": {"deductible": {"1": 200, "2": 500, "3": 800},
                      "ratio": {"1": 0.85, "2": 0.75, "3": 0.65}, "annual_cap": 150000},
    },
}  # fmt: skip


def hospital_city(app: App) -> None:
    """The area with the pooled block in every policy, a pharmacy and hospitals H001 (level 1)
    and H003 (level 3)."""
    with app.uow() as uow:
        registry.load_area(uow=uow, document=area_document(pooled=POOLED))
        registry.add_employer(uow=uow, code="E001", name="Example Co.", area_code=AREA)
        for code, kind, level in (("P001", "pharmacy", 1), ("H001", "hospital", 1),
                                  ("H003", "hospital", 3)):  # fmt: skip
            registry.add_institution(
                uow=uow, code=code, name=f"Example {code}", kind=kind, area_code=AREA, level=level
            )


def enroll(app: App, person: Person, scheme: str, on: dt.date = DAY) -> None:
    """`flexible` (the employee scheme's rules), `retiree`, `resident` or `pooled_only`."""
    with app.uow() as uow:
        if scheme == "pooled_only":
            registry.hire(uow=uow, id_number=person.id_number, employer_code="E001", on=on)
            registry.register_employee(
                uow=uow, id_number=person.id_number, employer_code="E001", on=on, pooled_only=True
            )
            return
        registry.enroll(
            uow=uow,
            id_number=person.id_number,
            scheme=scheme,
            tier="full" if scheme == "flexible" else None,
            on=on,
        )


def pay_resident_year(app: App, person: Person, year: int, on: dt.date = DAY) -> None:
    with app.uow() as uow:
        record_contribution(
            uow=uow,
            cmd=ContributionCmd(
                id_number=person.id_number, received_on=on, insurances=("medical",), year=year
            ),
        )


def bill(
    app: App,
    credential: CardAndPin | ElectronicCard | str | Person,
    ref: str,
    eligible_fen: int,
    *,
    outside_fen: int = 0,
    institution: str = "H001",
    visit: Visit | None = None,
    on: dt.date = DAY,
    payer: Person | None = None,
) -> Receipt:
    """A bill of `eligible_fen` within the catalogue and `outside_fen` outside it; a bare card
    number is shown with its PIN, a person shows a fresh e-voucher."""
    if isinstance(credential, str):
        credential = CardAndPin(credential, "123456")
    if isinstance(credential, Person):
        credential = evoucher(app, credential, on)
    lines = [LineItem("CARE", 1, eligible_fen, account_may_pay=True)]
    if outside_fen:
        lines.append(LineItem("OUTSIDE", 1, outside_fen, account_may_pay=False))
    cmd = SettleCmd(
        institution_code=institution,
        ref=ref,
        credential=credential,
        lines=tuple(lines),
        on=on,
        payer_id_number=None if payer is None else payer.id_number,
        visit=visit,
    )
    now = dt.datetime.combine(on, dt.time(10), tzinfo=dt.UTC)
    return settlement.settle(uow_factory=app.uow, cmd=cmd, now=now, card_secret=SECRET)


def evoucher(app: App, person: Person, on: dt.date = DAY) -> ElectronicCard:
    with app.uow() as uow:
        issued = electronic_card.issue_evoucher(
            uow=uow,
            id_number=person.id_number,
            now=dt.datetime.combine(on, dt.time(10), tzinfo=dt.UTC),
            seconds=300,
            secret=SECRET,
        )
    return ElectronicCard(issued.token)


def parts(receipt: Receipt) -> tuple[int, int, int]:
    """(fund, account, cash) of a receipt."""
    return (receipt.fund_fen, receipt.personal_fen, receipt.own_fen)
