"""A small city for the API tests, with one login per role, and a client to call the API.

Two areas (420100 and 310100), so that a clerk, an employer, an institution and a person each
have records inside their scope and records outside it. Tokens are issued directly to the
users (the login itself is tested on its own), and the clock is the real one: every day the
records name is in the past.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import yaml
from fastapi.testclient import TestClient

from tests.integration.cards.hospital import POOLED
from tests.scenario_files import EXAMPLES
from yibao.bootstrap import App
from yibao.config import Settings
from yibao.domain.idnumber import make_id_number
from yibao.domain.months import Month
from yibao.entrypoints.api.app import create_app
from yibao.services import accounts, cards, registry
from yibao.services.accounts import Role
from yibao.services.accounts.tokens import issue_token
from yibao.services.cards import financial
from yibao.services.contributions import ContributionCmd, record_contribution
from yibao.services.contributions.crediting import run_crediting

AREA, OTHER_AREA = "420100", "310100"
PIN = "123456"
PASSWORD = "a long enough password"
INSIDE = make_id_number("420102", dt.date(1985, 5, 1), 11)  # employee of E001, with a card
NEIGHBOUR = make_id_number("420102", dt.date(1990, 6, 2), 12)  # employee of E002
OUTSIDE = make_id_number("310101", dt.date(1975, 7, 3), 13)  # lives in the other area
CARD, OUTSIDE_CARD = "C0001", "C0913"
HOSPITAL, HOSPITAL_USER = "H101", "the-hospital"  # level 1: the pooled fund pays its share there
SCOPES = {
    Role.CLERK: AREA,
    Role.EMPLOYER: "E001",
    Role.INSTITUTION: "P001",
    Role.PERSON: INSIDE,
}


def area_document(code: str) -> dict[str, Any]:
    area: dict[str, Any] = yaml.safe_load(
        (EXAMPLES / "05_spent_to_zero_then_refunded.yaml").read_text()
    )["area"]
    area["code"] = code
    for policy in area["policies"]:
        policy["pooled"] = POOLED
    return area


@dataclass
class World:
    app: App
    client: TestClient
    tokens: dict[Role, str]
    hospital_token: str = ""  # HOSPITAL_USER's, an institution login of the hospital

    def headers(self, role: Role, *, key: bool = False, hospital: bool = False) -> dict[str, str]:
        token = self.hospital_token if hospital else self.tokens[role]
        found = {"Authorization": f"Bearer {token}"}
        if key:
            found["Idempotency-Key"] = uuid.uuid4().hex
        return found


def settings_for(app: App) -> Settings:
    return Settings(database_url=str(app.engine.url), env="development")


def build_world(app: App) -> World:
    with app.uow() as uow:
        for code in (AREA, OTHER_AREA):
            registry.load_area(uow=uow, document=area_document(code))
        for code, area in (("E001", AREA), ("E002", AREA), ("E900", OTHER_AREA)):
            registry.add_employer(uow=uow, code=code, name=f"Employer {code}", area_code=area)
        for code, area in (("P001", AREA), ("P900", OTHER_AREA)):
            registry.add_institution(
                uow=uow, code=code, name=f"Pharmacy {code}", kind="pharmacy", area_code=area
            )
        registry.add_institution(
            uow=uow, code=HOSPITAL, name="Hospital H101", kind="hospital", area_code=AREA, level=1
        )
        for number, area, employer in (
            (INSIDE, AREA, "E001"),
            (NEIGHBOUR, AREA, "E002"),
            (OUTSIDE, OTHER_AREA, "E900"),
        ):
            registry.add_person(uow=uow, id_number=number, name="Zhang San", area_code=area)
            registry.register_employee(
                uow=uow, id_number=number, employer_code=employer, on=dt.date(2024, 1, 5)
            )
    for number, card_no in ((INSIDE, CARD), (OUTSIDE, OUTSIDE_CARD)):
        with app.uow() as uow:
            cards.issue_card(uow=uow, id_number=number, card_no=card_no, on=dt.date(2024, 1, 6))
            cards.activate_card(uow=uow, id_number=number, on=dt.date(2024, 1, 6), pin=PIN)
            cards.activate_financial(uow=uow, id_number=number, on=dt.date(2024, 1, 6))
        with app.uow() as uow:
            financial.deposit(
                uow=uow, id_number=number, amount_fen=10_000, on=dt.date(2024, 1, 7), key=card_no
            )
    for number in (INSIDE, NEIGHBOUR, OUTSIDE):
        for month in ("2024-01", "2024-02"):
            with app.uow() as uow:
                record_contribution(
                    uow=uow,
                    cmd=ContributionCmd(
                        id_number=number,
                        received_on=Month.parse(month).first_day + dt.timedelta(days=14),
                        insurances=("medical", "pension"),
                        month=Month.parse(month),
                        base_fen=800_000,
                    ),
                )
    for area in (AREA, OTHER_AREA):
        for month in ("2024-01", "2024-02"):
            run_crediting(uow_factory=app.uow, area_code=area, month=Month.parse(month))
    settings = settings_for(app)
    tokens = {}
    with app.uow() as uow:
        for role in Role:
            user = accounts.add_user(
                uow=uow, name=f"the-{role}", role=role, password=PASSWORD, scope=SCOPES.get(role)
            )
            tokens[role] = issue_token(
                uow=uow, user=user, secret=settings.token_secret, seconds=900
            ).access_token
        hospital = accounts.add_user(
            uow=uow, name=HOSPITAL_USER, role=Role.INSTITUTION, password=PASSWORD, scope=HOSPITAL
        )
        hospital_token = issue_token(
            uow=uow, user=hospital, secret=settings.token_secret, seconds=900
        ).access_token
    client = TestClient(create_app(app, settings), raise_server_exceptions=False)
    return World(app, client, tokens, hospital_token)
