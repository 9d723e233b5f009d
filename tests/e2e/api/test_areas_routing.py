"""`yibao serve` with one database per planning area: each request reaches its area's book.

Two areas, each in its own database (two PostgreSQL databases, or two SQLite files), opened by
`bootstrap` from YIBAO_AREA_DATABASES as `yibao serve` opens them, and called over HTTP.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.area_databases import area_database_urls
from tests.e2e.api.world import PASSWORD, area_document
from tests.e2e.national.client import Client
from tests.e2e.web.conftest import csrf_of
from yibao.adapters.tables import AuditEntry, InterAreaBill, Settlement
from yibao.bootstrap import App, bootstrap
from yibao.config import load_settings
from yibao.domain.idnumber import make_id_number
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.web.session import AREA_COOKIE, SESSION_COOKIE
from yibao.ledger import accounts
from yibao.services import accounts as users
from yibao.services import cards, registry
from yibao.services.accounts import Role

INSURED, TREATING = "420100", "110000"  # area A (the traveller's) and area B (the pharmacy's)
TRAVELLER = make_id_number("420102", dt.date(1975, 6, 1), 17)  # insured in A
LOCAL = make_id_number("110101", dt.date(1982, 2, 3), 21)  # insured in B
CARDS = {TRAVELLER: "CA001", LOCAL: "CB001"}
PIN = "123456"
DAY = "2024-03-05"


@dataclass
class Areas:
    app: App
    client: TestClient
    tokens: dict[tuple[str, Role], str]  # by area and role: each area's own logins

    def headers(self, area: str, role: Role = Role.ADMIN, *, key: str = "") -> dict[str, str]:
        found = {"Authorization": f"Bearer {self.tokens[area, role]}"}
        if key:
            found["Idempotency-Key"] = key
        return found

    def balance(self, area: str, ref: accounts.AccountRef) -> int:
        with self.app.in_area(area).uow() as uow:
            return uow.ledger.balance_of(ref)

    def personal(self, area: str, id_number: str) -> accounts.AccountRef:
        with self.app.in_area(area).uow() as uow:
            person = registry.person_by_id_number(uow=uow, id_number=id_number)
        return accounts.personal_account(area, person.id)


def _populate(app: App, area: str, id_number: str, fen: int) -> None:
    """The area's policy, one cardholder credited `fen`, and the area's own logins."""
    with app.uow() as uow:
        registry.load_area(uow=uow, document=area_document(area))
        registry.add_person(uow=uow, id_number=id_number, name="Sun Mei", area_code=area)
        registry.enroll(
            uow=uow, id_number=id_number, scheme="flexible", tier="full", on=dt.date(2024, 1, 1)
        )
        registry.add_employer(uow=uow, code=f"E{area}", name="Works", area_code=area)
        if area == TREATING:
            registry.add_institution(
                uow=uow, code="B001", name="Capital Pharmacy", kind="pharmacy", area_code=area
            )
    on = dt.date(2024, 3, 1)
    with app.uow() as uow:
        cards.issue_card(uow=uow, id_number=id_number, card_no=CARDS[id_number], on=on)
    with app.uow() as uow:
        cards.activate_card(uow=uow, id_number=id_number, on=on, pin=PIN)
        person = registry.person_by_id_number(uow=uow, id_number=id_number)
        uow.ledger.transfer(
            key=f"opening:{person.id}",
            debit=accounts.pooled_fund(area),
            credit=accounts.personal_account(area, person.id),
            amount_fen=fen,
            value_date=on,
            kind="crediting",
        )


def _logins(app: App, area: str) -> dict[tuple[str, Role], str]:
    from yibao.services.accounts.tokens import issue_token

    tokens = {}
    with app.uow() as uow:
        for role, scope in ((Role.ADMIN, None), (Role.INSTITUTION, "B001")):
            if scope is not None and area != TREATING:
                continue
            user = users.add_user(
                uow=uow, name=f"{area}-{role}", role=role, password=PASSWORD, scope=scope
            )
            issued = issue_token(
                uow=uow, user=user, secret=load_settings().token_secret, seconds=900
            )
            tokens[area, role] = issued.access_token
    return tokens


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def areas(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Areas]:
    folder: Path = tmp_path_factory.mktemp("areas")
    with (
        area_database_urls(request.param, (INSURED, TREATING), folder) as urls,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("YIBAO_AREA_DATABASES", json.dumps(urls))
        patch.setenv("YIBAO_ENV", "development")
        app = bootstrap(urls[INSURED])  # the serving App: its own database is A's
        _populate(app.in_area(INSURED), INSURED, TRAVELLER, 5_000)
        _populate(app.in_area(TREATING), TREATING, LOCAL, 3_000)
        tokens = {
            **_logins(app.in_area(INSURED), INSURED),
            **_logins(app.in_area(TREATING), TREATING),
        }
        client = TestClient(create_app(app, load_settings()), raise_server_exceptions=False)
        with client:
            yield Areas(app, client, tokens)


def _sale(areas: Areas, card_no: str, ref: str, *, pin: str = PIN, key: str = "") -> object:
    body = {
        "institution": "B001",
        "ref": ref,
        "card": card_no,
        "pin": pin,
        "day": DAY,
        "items": [
            {"code": "DRUG-1", "quantity": 1, "amount": "30.00"},
            {"code": "TONIC", "quantity": 1, "amount": "5.00", "account_may_pay": False},
        ],
    }
    return areas.client.post(
        "/api/v1/pos/settlements",
        json=body,
        headers=areas.headers(TREATING, Role.INSTITUTION, key=key or uuid.uuid4().hex),
    )


def _count(areas: Areas, area: str, table: type) -> int:
    with areas.app.in_area(area).uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(table)) or 0)


def test_a_sale_by_a_person_of_the_pharmacys_area_is_settled_in_that_areas_book(
    areas: Areas,
) -> None:
    answer = _sale(areas, CARDS[LOCAL], "SAME-1")
    assert answer.status_code == 201, answer.text
    receipt = answer.json()
    assert (receipt["total"], receipt["personal_account_paid"]) == ("35.00", "30.00")
    assert receipt["balance_after"] == "0.00"
    assert areas.balance(TREATING, areas.personal(TREATING, LOCAL)) == 0
    assert _count(areas, TREATING, Settlement) == 1
    assert _count(areas, INSURED, Settlement) == 0


def test_a_sale_by_a_traveller_goes_through_both_books_and_its_retry_answers_the_same(
    areas: Areas,
) -> None:
    key = uuid.uuid4().hex
    first = _sale(areas, CARDS[TRAVELLER], "AWAY-1", key=key)
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert (receipt["total"], receipt["personal_account_paid"]) == ("35.00", "30.00")
    assert (receipt["paid_by_person"], receipt["balance_after"]) == ("5.00", "20.00")
    assert receipt["fund_paid"] == "0.00"  # a pharmacy purchase: A's fund pays nothing
    again = _sale(areas, CARDS[TRAVELLER], "AWAY-1", key=key)
    assert again.json() == receipt
    # A's personal account paid A's payable to B; B owes its pharmacy, owed by A
    assert areas.balance(INSURED, areas.personal(INSURED, TRAVELLER)) == 2_000
    assert areas.balance(INSURED, accounts.inter_area(INSURED, TREATING)) == 3_000
    assert areas.balance(TREATING, accounts.inter_area(TREATING, INSURED)) == -3_000
    assert _count(areas, INSURED, InterAreaBill) == _count(areas, TREATING, InterAreaBill) == 1
    assert _count(areas, INSURED, Settlement) == 0
    # the sale's audit entry is kept in the pharmacy's area, naming the patient (the module's
    # other tests sell there too)
    with areas.app.in_area(TREATING).uow() as uow:
        persons = uow.session.scalars(
            select(AuditEntry.person).where(AuditEntry.action == "pos.settle")
        ).all()
    assert TRAVELLER in persons
    assert None not in persons


def test_a_travellers_wrong_pin_is_refused_and_counted_in_the_card_s_own_book(
    areas: Areas,
) -> None:
    answer = _sale(areas, CARDS[TRAVELLER], "AWAY-PIN", pin="000000")
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "wrong_pin"
    with areas.app.in_area(INSURED).uow() as uow:
        assert cards.card_by_number(uow=uow, card_no=CARDS[TRAVELLER]).failed_pin_tries == 1
        cards.reset_pin(uow=uow, card_no=CARDS[TRAVELLER], new_pin=PIN)


def test_an_inquiry_reaches_the_book_of_the_persons_own_area(areas: Areas) -> None:
    for area, id_number in ((INSURED, TRAVELLER), (TREATING, LOCAL)):
        answer = areas.client.get(
            f"/api/v1/persons/{id_number}/inquiry", headers=areas.headers(area)
        )
        assert answer.status_code == 200, answer.text
        balance = areas.balance(area, areas.personal(area, id_number))
        assert answer.json()["medical_balance"] == f"{balance // 100}.{balance % 100:02d}"
    # each area keeps its own logins: B's token is not known in A's database
    refused = areas.client.get(
        f"/api/v1/persons/{TRAVELLER}/inquiry", headers=areas.headers(TREATING)
    )
    assert refused.status_code == 401


def test_an_unknown_area_or_a_request_naming_none_is_refused_with_the_field_named(
    areas: Areas,
) -> None:
    headers = areas.headers(INSURED)
    unknown = areas.client.get("/api/v1/areas/999999", headers=headers)
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "area"
    assert "999999" in unknown.json()["detail"]
    new_person = {"id_number": make_id_number("420102", dt.date(1990, 1, 1), 5), "name": "X"}
    refused = areas.client.post(
        "/api/v1/persons", json={**new_person, "area": "999999"}, headers=headers
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "area"
    unnamed = areas.client.get("/api/v1/auth/me", headers=headers)
    assert unnamed.status_code == 422
    assert unnamed.json()["field"] == "Yibao-Area"
    named = areas.client.get("/api/v1/auth/me", headers={**headers, "Yibao-Area": INSURED})
    assert named.status_code == 200
    assert named.json()["name"] == f"{INSURED}-admin"
    nobody = make_id_number("110101", dt.date(1999, 9, 9), 99)
    missing = areas.client.get(f"/api/v1/persons/{nobody}/inquiry", headers=headers)
    assert missing.status_code == 404


def test_an_employer_is_read_in_the_database_of_its_area(areas: Areas) -> None:
    for area in (INSURED, TREATING):
        found = areas.client.get(f"/api/v1/employers/E{area}", headers=areas.headers(area))
        assert found.status_code == 200, found.text
        assert found.json()["area"] == area
    missing = areas.client.get("/api/v1/employers/E999", headers=areas.headers(INSURED))
    assert missing.status_code == 404


def test_a_login_names_its_area_and_gets_a_token_of_that_areas_database(areas: Areas) -> None:
    form = {"username": f"{TREATING}-admin", "password": PASSWORD}
    token = areas.client.post("/api/v1/auth/token", data=form, headers={"Yibao-Area": TREATING})
    assert token.status_code == 200, token.text
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    answer = areas.client.get(f"/api/v1/persons/{LOCAL}/inquiry", headers=bearer)
    assert answer.status_code == 200
    elsewhere = areas.client.post("/api/v1/auth/token", data=form, headers={"Yibao-Area": INSURED})
    assert elsewhere.status_code == 401


def test_a_national_message_reaches_its_institutions_area_and_another_insured_area_is_refused(
    areas: Areas,
) -> None:
    his = Client(areas.app.in_area(TREATING), areas.client, "B001")
    his.sign_in()
    person_info = {
        "data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": CARDS[LOCAL], "card_sn": "",
                 "begntime": "", "psn_cert_type": "", "certno": "", "psn_name": "",
                 "exp_content": {"card_pin": PIN}},
    }  # fmt: skip
    found = his.call("1101", person_info, insuplc_admdvs=TREATING)
    assert found["infcode"] == 0, found["err_msg"]
    assert found["output"]["insuinfo"][0]["insuplc_admdvs"] == TREATING
    traveller = {"data": {**person_info["data"], "mdtrt_cert_no": CARDS[TRAVELLER]}}
    refused = his.call("1101", traveller, insuplc_admdvs=INSURED)
    assert refused["infcode"] == -1
    assert "insuplc_admdvs" in refused["err_msg"]
    assert INSURED in refused["err_msg"]
    stranger = his.send({**his.envelope("1101", person_info), "fixmedins_code": "Z999"})
    assert stranger.json()["infcode"] == -1
    assert "Z999" in stranger.json()["err_msg"]


def test_a_travellers_sale_is_refunded_through_the_pharmacys_area_into_both_books(
    areas: Areas,
) -> None:
    sold = _sale(areas, CARDS[TRAVELLER], "AWAY-R")
    assert sold.status_code == 201, sold.text
    before = areas.balance(INSURED, areas.personal(INSURED, TRAVELLER))
    refunded = areas.client.post(
        "/api/v1/pos/settlements/AWAY-R/refund",
        json={"institution": "B001", "day": DAY},
        headers=areas.headers(TREATING, Role.INSTITUTION, key=uuid.uuid4().hex),
    )
    assert refunded.status_code == 201, refunded.text
    assert refunded.json()["personal_account_paid"] == sold.json()["personal_account_paid"]
    after = areas.balance(INSURED, areas.personal(INSURED, TRAVELLER))
    paid = sold.json()["personal_account_paid"]
    assert f"{(after - before) // 100}.{(after - before) % 100:02d}" == paid
    assert refunded.json()["balance_after"] == f"{after // 100}.{after % 100:02d}"
    again = areas.client.post(
        "/api/v1/pos/settlements/AWAY-R/refund",
        json={"institution": "B001", "day": DAY},
        headers=areas.headers(TREATING, Role.INSTITUTION, key=uuid.uuid4().hex),
    )
    assert again.status_code == 409


def test_without_a_valid_token_nothing_is_looked_up_and_nothing_told(areas: Areas) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        for id_number in (TRAVELLER, make_id_number("110101", dt.date(1999, 9, 9), 99)):
            answer = areas.client.get(f"/api/v1/persons/{id_number}/inquiry", headers=headers)
            assert answer.status_code == 401  # the same, insured or not


def _web_login(browser: TestClient, user: str, area: str | None) -> int:
    form = browser.get("/login")
    data = {"username": user, "password": PASSWORD, "csrf": csrf_of(form.text)}
    if area is not None:
        data["area"] = area
    return browser.post("/login", data=data, follow_redirects=False).status_code


def test_the_web_pages_log_in_to_an_area_and_read_that_areas_book(areas: Areas) -> None:
    """The login form asks for the area; the person's page reads their own area's book. No
    area, another area, or the session's area cookie changed by hand logs nobody in."""
    with areas.app.in_area(TREATING).uow() as uow:
        users.add_user(uow=uow, name="web-local", role=Role.PERSON, password=PASSWORD, scope=LOCAL)
    browser = TestClient(areas.client.app, raise_server_exceptions=False)
    form = browser.get("/login").text
    assert f'<option value="{INSURED}"' in form
    assert f'<option value="{TREATING}"' in form
    assert _web_login(browser, "web-local", None) == 422
    assert _web_login(browser, "web-local", "999999") == 422
    assert _web_login(browser, "web-local", INSURED) == 401  # a login of B, not of A
    assert _web_login(browser, "web-local", TREATING) == 303
    home = browser.get("/")
    balance = areas.balance(TREATING, areas.personal(TREATING, LOCAL))
    assert home.status_code == 200
    assert f"{balance // 100}.{balance % 100:02d}" in home.text
    session = browser.cookies.get(SESSION_COOKIE)
    for area in (INSURED, "", "999999"):  # the token is known in B's database only
        forged = TestClient(areas.client.app, raise_server_exceptions=False)
        cookie = f"{SESSION_COOKIE}={session}; {AREA_COOKIE}={area}"
        answer = forged.get("/", headers={"Cookie": cookie}, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login")
