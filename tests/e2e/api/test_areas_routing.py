"""`yibao serve` with one database per planning area: each request reaches its area's book.

Two areas, each in its own database (two PostgreSQL databases, or two SQLite files), opened by
`bootstrap` from YIBAO_AREA_DATABASES as `yibao serve` opens them, and called over HTTP.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from tests.area_databases import area_database_urls
from tests.e2e.api.world import PASSWORD, area_document
from tests.e2e.national.client import Client, read
from tests.e2e.web.conftest import csrf_of
from yibao.adapters.tables import (
    AuditEntry,
    InterAreaBill,
    NationalFeeLine,
    NationalMessage,
    NationalVisit,
    Settlement,
)
from yibao.bootstrap import App, bootstrap
from yibao.config import load_settings
from yibao.domain.idnumber import make_id_number
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.web.session import AREA_COOKIE, SESSION_COOKIE
from yibao.ledger import accounts
from yibao.ledger.check import check_ledger
from yibao.ledger.problems import Problem
from yibao.services import accounts as users
from yibao.services import cards, catalogue, registry
from yibao.services.accounts import Role
from yibao.services.national.reversal import BARRED
from yibao.services.settlement import across_areas, at_pos

INSURED, TREATING = "420100", "110000"  # area A (the traveller's) and area B (the pharmacy's)
TRAVELLER = make_id_number("420102", dt.date(1975, 6, 1), 17)  # insured in A
LOCAL = make_id_number("110101", dt.date(1982, 2, 3), 21)  # insured in B
CARDS = {TRAVELLER: "CA001", LOCAL: "CB001"}
PIN = "123456"
DAY = "2024-03-05"
HOSPITAL = "H002"  # of area B, level 2


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


def _document(area: str) -> dict[str, Any]:
    """The area's policy with the pooled block; B's fund would pay more than A's at a hospital,
    so that a traveller's visit shows which area's policy paid it."""
    document = copy.deepcopy(area_document(area))
    if area == TREATING:
        for policy in document["policies"]:
            employee = policy["pooled"]["employee"]
            employee["outpatient"]["ratio"] = {"1": 0.9, "2": 0.8, "3": 0.7}
            employee["inpatient"]["ratio"] = {"1": 0.97, "2": 0.96, "3": 0.95}
    return document


def _populate(app: App, area: str, id_number: str, fen: int) -> None:
    """The area's policy, one cardholder credited `fen`, and the area's own logins; B has a
    pharmacy and a hospital of level 2."""
    with app.uow() as uow:
        registry.load_area(uow=uow, document=_document(area))
        registry.add_person(uow=uow, id_number=id_number, name="Sun Mei", area_code=area)
        registry.enroll(
            uow=uow, id_number=id_number, scheme="flexible", tier="full", on=dt.date(2024, 1, 1)
        )
        registry.add_employer(uow=uow, code=f"E{area}", name="Works", area_code=area)
        if area == TREATING:
            registry.add_institution(
                uow=uow, code="B001", name="Capital Pharmacy", kind="pharmacy", area_code=area
            )
            registry.add_institution(uow=uow, code=HOSPITAL, name="Capital Hospital",
                                     kind="hospital", area_code=area, level=2)  # fmt: skip
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


def test_a_national_message_reaches_its_institutions_area_and_a_travellers_their_own_area(
    areas: Areas,
) -> None:
    his = Client(areas.app.in_area(TREATING), areas.client, "B001")
    his.sign_in()
    found = his.call("1101", _person_info(CARDS[LOCAL]), insuplc_admdvs=TREATING)
    assert found["infcode"] == 0, found["err_msg"]
    assert found["output"]["insuinfo"][0]["insuplc_admdvs"] == TREATING
    # the traveller's 1101 at B names A: read in A's database, psn_no a number of A's
    for given in (_person_info(CARDS[TRAVELLER]), _person_info(TRAVELLER, cert_type="02")):
        traveller = his.call("1101", given, insuplc_admdvs=INSURED)
        assert traveller["infcode"] == 0, traveller["err_msg"]
        insuinfo = traveller["output"]["insuinfo"][0]
        assert insuinfo["insuplc_admdvs"] == INSURED
        assert traveller["output"]["baseinfo"]["certno"] == TRAVELLER
        assert traveller["output"]["baseinfo"]["psn_no"] == _psn_no(areas, INSURED, TRAVELLER)
        assert insuinfo["balc"] * 100 == areas.balance(INSURED, areas.personal(INSURED, TRAVELLER))
    # the read is in the institution's audit trail and in the traveller's area's, naming them
    for area in (TREATING, INSURED):
        with areas.app.in_area(area).uow() as uow:
            persons = uow.session.scalars(
                select(AuditEntry.person).where(AuditEntry.action == "national.1101")
            ).all()
        assert TRAVELLER in persons
    stranger = his.send(
        {**his.envelope("1101", _person_info(CARDS[LOCAL])), "fixmedins_code": "Z999"}
    )
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


# -- the national interface across areas ---------------------------------------------------------
# These settle today (the national interface's day), after the sales above dated DAY: an account
# takes no posting dated before its last one.


def test_a_message_not_answered_across_areas_or_an_area_without_a_database_is_refused_by_name(
    areas: Areas,
) -> None:
    his = _his(areas)
    for infno, area, given in (
        ("4101", INSURED, {"data": {}}),  # not answered at all: refused for its area first
        ("1101", "999999", _person_info(CARDS[TRAVELLER])),
    ):
        refused = his.call(infno, given, insuplc_admdvs=area)
        assert refused["infcode"] == -1, refused
        assert "insuplc_admdvs" in refused["err_msg"]
        assert area in refused["err_msg"]
    evoucher = his.call("1101", _person_info("1.2.3.4", cert_type="01"), insuplc_admdvs=INSURED)
    assert evoucher["infcode"] == -1
    assert "mdtrt_cert_type" in evoucher["err_msg"]


def test_a_travellers_national_pharmacy_sale_is_paid_by_their_areas_book_once(
    areas: Areas,
) -> None:
    his = _his(areas)
    before = _money(areas)  # A's personal account and payable to B, B's receivable and due
    bills = _bills(areas)
    sales = _count(areas, TREATING, Settlement)
    purchase = _purchase(areas)
    pre = his.call("2101", purchase, insuplc_admdvs=INSURED)
    assert pre["infcode"] == 0, pre["err_msg"]
    paid = min(1_000, before[0])
    assert pre["output"]["setlinfo"]["acct_pay"] * 100 == paid
    assert _money(areas) == before  # nothing moved

    body = his.envelope("2102", purchase, insuplc_admdvs=INSURED)
    first = read(his.send(body))
    assert first["infcode"] == 0, first["err_msg"]
    setl = first["output"]["setlinfo"]
    assert (setl["medfee_sumamt"], setl["fund_pay_sumamt"]) == (Decimal("15.00"), 0)
    assert setl["acct_pay"] * 100 == paid
    assert setl["psn_cash_pay"] * 100 == 1_500 - paid
    assert setl["balc"] * 100 == before[0] - paid
    assert (setl["insutype"], setl["psn_no"]) == ("310", _psn_no(areas, INSURED, TRAVELLER))
    assert setl["certno"] == TRAVELLER
    assert (setl["clr_optins"], setl["mdtrt_id"]) == (TREATING, body["msgid"])
    moved = (before[0] - paid, before[1] + paid, before[2] - paid, before[3] + paid)
    assert _money(areas) == moved
    assert _count(areas, INSURED, InterAreaBill) == bills[0] + 1
    assert _count(areas, TREATING, InterAreaBill) == bills[1] + 1
    assert _count(areas, TREATING, Settlement) == sales  # no home sale in B's book
    again = read(his.send(body))
    assert again["output"] == first["output"]  # the first answer, kept in B's database
    assert _money(areas) == moved
    with areas.app.in_area(TREATING).uow() as uow:
        kept = uow.session.scalar(
            select(func.count())
            .select_from(NationalMessage)
            .where(NationalMessage.msgid == body["msgid"])
        )
        persons = uow.session.scalars(
            select(AuditEntry.person).where(AuditEntry.action == "national.2102")
        ).all()
    assert kept == 1
    assert persons.count(TRAVELLER) >= 1
    _both_books_reconcile(areas)


def test_a_travellers_wrong_pin_or_another_psn_no_through_the_national_interface_moves_nothing(
    areas: Areas,
) -> None:
    his = _his(areas)
    personal = areas.personal(INSURED, TRAVELLER)
    before, tries = areas.balance(INSURED, personal), _tries(areas)
    wrong = his.call("2102", _purchase(areas, pin="000000"), insuplc_admdvs=INSURED)
    assert wrong["infcode"] == -1
    assert "PIN" in wrong["err_msg"]
    assert _tries(areas) == tries + 1  # counted in the card's own area
    with areas.app.in_area(INSURED).uow() as uow:
        cards.reset_pin(uow=uow, card_no=CARDS[TRAVELLER], new_pin=PIN)
    # a psn_no that is not the card's holder in A's database
    other = _purchase(areas)
    stranger = str(int(_psn_no(areas, INSURED, TRAVELLER)) + 1_000)
    other["druginfo"] = {**other["druginfo"], "psn_no": stranger}
    refused = his.call("2102", other, insuplc_admdvs=INSURED)
    assert refused["infcode"] == -1
    assert "psn_no" in refused["err_msg"]
    assert stranger in refused["err_msg"]
    by_id_card = _purchase(areas)
    by_id_card["druginfo"] = {**by_id_card["druginfo"], "mdtrt_cert_type": "02",
                              "mdtrt_cert_no": TRAVELLER}  # fmt: skip
    refused = his.call("2102", by_id_card, insuplc_admdvs=INSURED)
    assert refused["infcode"] == -1
    assert "mdtrt_cert_type" in refused["err_msg"]
    assert areas.balance(INSURED, personal) == before


def test_a_person_unknown_in_the_insured_area_is_refused(areas: Areas) -> None:
    his = _his(areas)
    nobody = make_id_number("420102", dt.date(1999, 9, 9), 99)
    for id_number in (LOCAL, nobody):  # B's person is unknown in A's database, as is nobody
        refused = his.call("1101", _person_info(id_number, cert_type="02"), insuplc_admdvs=INSURED)
        assert refused["infcode"] == -1, refused
        assert "no insured person" in refused["err_msg"]
        assert id_number[:4] in refused["err_msg"]
        assert id_number not in refused["err_msg"]  # masked
    refused = his.call("1101", _person_info(CARDS[LOCAL]), insuplc_admdvs=INSURED)
    assert refused["infcode"] == -1
    assert CARDS[LOCAL] in refused["err_msg"]
    stranger = _purchase(areas)  # B's local person's card is no card of A's
    stranger["druginfo"] = {**stranger["druginfo"], "mdtrt_cert_no": CARDS[LOCAL]}
    refused = his.call("2102", stranger, insuplc_admdvs=INSURED)
    assert refused["infcode"] == -1
    assert CARDS[LOCAL] in refused["err_msg"]
    refused = his.call("2103", {"data": {"setl_id": "999999", "psn_no": "1"}},
                       insuplc_admdvs=INSURED)  # fmt: skip
    assert refused["infcode"] == -1
    assert "setl_id" in refused["err_msg"]
    assert INSURED in refused["err_msg"]


def test_a_travellers_national_sale_is_given_back_in_both_books_by_2103_and_by_2601(
    areas: Areas,
) -> None:
    his = _his(areas)
    before = _money(areas)
    sold = his.call("2102", _purchase(areas), insuplc_admdvs=INSURED)
    assert sold["infcode"] == 0, sold["err_msg"]
    setl = sold["output"]["setlinfo"]
    cancel = {"data": {"setl_id": setl["setl_id"], "psn_no": setl["psn_no"]}}
    cancelled = his.call("2103", cancel, insuplc_admdvs=INSURED)
    assert cancelled["infcode"] == 0, cancelled["err_msg"]
    back = cancelled["output"]["setlinfo"]
    assert back["acct_pay"] == -setl["acct_pay"]
    assert back["balc"] * 100 == before[0]
    assert _money(areas) == before
    again = his.call("2103", cancel, insuplc_admdvs=INSURED)
    assert again["infcode"] == -1  # given back once

    body = his.envelope("2102", _purchase(areas), insuplc_admdvs=INSURED)
    assert read(his.send(body))["infcode"] == 0
    reversal = {"data": {"omsgid": body["msgid"], "oinfno": "2102", "psn_no": setl["psn_no"]}}
    home = his.call("2601", reversal, insuplc_admdvs=TREATING)
    assert home["infcode"] == -1  # the bill is of A's person: named, not taken for B's
    assert f"insuplc_admdvs {INSURED}" in home["err_msg"]
    reversed_ = his.call("2601", reversal, insuplc_admdvs=INSURED)
    assert reversed_["infcode"] == 0, reversed_["err_msg"]
    assert reversed_["output"]["data"]["reversed"] == "1"
    assert _money(areas) == before
    with areas.app.in_area(INSURED).uow() as uow:
        records = uow.session.scalars(
            select(InterAreaBill).where(InterAreaBill.ref == body["msgid"])
        ).all()
    assert [r.refunded_on is not None for r in records] == [True]

    # a 2102 reversed before it arrived is barred: its late copy moves nothing
    late = his.envelope("2102", _purchase(areas), insuplc_admdvs=INSURED)
    barred = {"data": {"omsgid": late["msgid"], "oinfno": "2102", "psn_no": setl["psn_no"]}}
    answer = his.call("2601", barred, insuplc_admdvs=INSURED)
    assert answer["output"]["data"]["reversed"] == "0", answer
    assert read(his.send(late))["infcode"] == -1
    assert _money(areas) == before
    _both_books_reconcile(areas)


def test_a_2601_overtaking_its_2102_bars_it_in_the_insured_areas_book_where_nothing_moves(
    areas: Areas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 2102 past B's msgid check but not yet in A's book when its 2601 arrives: the 2601
    finds the bill in neither book and bars the msgid in A's database first, so the 2102 pays
    nothing there and is answered barred, as is every copy of it."""
    his, body, reversal = _a_2102_and_its_2601(areas)
    before, bills = _money(areas), _bills(areas)
    overtaking: list[dict[str, Any]] = []
    settle = at_pos.settle_across_areas

    def overtaken(**given: Any) -> Any:  # the 2601 served before A's book is written
        overtaking.append(his.call("2601", reversal, insuplc_admdvs=INSURED))
        return settle(**given)

    monkeypatch.setattr(at_pos, "settle_across_areas", overtaken)
    answer = read(his.send(body))
    monkeypatch.undo()
    assert [a["output"]["data"]["reversed"] for a in overtaking] == ["0"], overtaking
    assert (answer["infcode"], answer["err_msg"]) == (-1, BARRED)
    assert _money(areas) == before
    assert _bills(areas) == bills
    again = read(his.send(body))
    assert (again["infcode"], again["err_msg"]) == (-1, BARRED)
    with areas.app.in_area(TREATING).uow() as uow:  # as if the 2601's bar in B never committed
        uow.session.execute(delete(NationalMessage).where(NationalMessage.msgid == body["msgid"]))
    late = read(his.send(body))
    assert (late["infcode"], late["err_msg"]) == (-1, BARRED)  # A's bar answers it
    assert his.call("2601", reversal, insuplc_admdvs=INSURED)["output"]["data"]["reversed"] == "0"
    assert _money(areas) == before
    assert _bills(areas) == bills
    _both_books_reconcile(areas)


def test_a_2601_arriving_once_its_2102_paid_in_the_insured_areas_book_bars_nothing(
    areas: Areas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 2601 between the 2102's two books: A's bill is found, so the msgid is not barred; the
    2601 is told to wait for the 2102, which completes and answers settled; a 2601 then gives
    the bill back in both books."""
    his, body, reversal = _a_2102_and_its_2601(areas)
    before, bills = _money(areas), _bills(areas)
    overtaking: list[dict[str, Any]] = []
    treating_side = across_areas._treating_side

    def between_the_books(*given: Any) -> None:  # A's transaction committed, B's not begun
        overtaking.append(his.call("2601", reversal, insuplc_admdvs=INSURED))
        treating_side(*given)

    monkeypatch.setattr(across_areas, "_treating_side", between_the_books)
    sold = read(his.send(body))
    monkeypatch.undo()
    assert [a["infcode"] for a in overtaking] == [-1]
    assert "send the 2102 again" in overtaking[0]["err_msg"]
    assert sold["infcode"] == 0, sold["err_msg"]
    assert _bills(areas) == (bills[0] + 1, bills[1] + 1)
    reversed_ = his.call("2601", reversal, insuplc_admdvs=INSURED)
    assert reversed_["infcode"] == 0, reversed_["err_msg"]
    assert reversed_["output"]["data"]["reversed"] == "1"
    assert _money(areas) == before
    _both_books_reconcile(areas)


def test_a_reconciliation_naming_the_insured_area_counts_the_pharmacys_bills_of_its_persons(
    areas: Areas,
) -> None:
    """A 3201 naming A reconciles the pharmacy's cross-area bills of A's persons; one naming
    B, or no area, its home settlements only. A bill given back counts in neither."""
    his = _his(areas)
    away, home, none = (_yibao_totals(his, area) for area in (INSURED, TREATING, ""))
    others = _yibao_totals(his, INSURED, clr_type="11"), _yibao_totals(his, INSURED, "390")
    sold = his.call("2102", _purchase(areas), insuplc_admdvs=INSURED)
    assert sold["infcode"] == 0, sold["err_msg"]
    setl = sold["output"]["setlinfo"]
    assert (setl["insutype"], setl["clr_type"]) == ("310", "41")
    bill = (1_500, 0, round(setl["acct_pay"] * 100), 1)
    assert _statement(his, INSURED, _plus(away, bill)) == ("0", "balanced")
    assert _yibao_totals(his, TREATING) == home  # a home 3201 does not count it
    assert _yibao_totals(his, "") == none
    assert (_yibao_totals(his, INSURED, clr_type="11"), _yibao_totals(his, INSURED, "390")) == (
        others
    )  # another clr_type or insutype does not count it
    result, differences = _statement(his, INSURED, away)
    assert result == "1"
    total = _plus(away, bill)[0]
    assert f"medfee_sumamt: yibao {total / 100:.2f}, institution {away[0] / 100:.2f}" in (
        differences
    )
    assert f"fixmedins_setl_cnt: yibao {away[3] + 1}, institution {away[3]}" in differences

    cancel = {"data": {"setl_id": setl["setl_id"], "psn_no": setl["psn_no"]}}
    assert his.call("2103", cancel, insuplc_admdvs=INSURED)["infcode"] == 0
    assert _statement(his, INSURED, away) == ("0", "balanced")  # cancelled: counts in neither
    assert _yibao_totals(his, TREATING) == home
    body = his.envelope("2102", _purchase(areas), insuplc_admdvs=INSURED)
    assert read(his.send(body))["infcode"] == 0
    assert _yibao_totals(his, INSURED)[3] == away[3] + 1
    reversal = {"data": {"omsgid": body["msgid"], "oinfno": "2102", "psn_no": setl["psn_no"]}}
    assert his.call("2601", reversal, insuplc_admdvs=INSURED)["output"]["data"]["reversed"] == "1"
    assert _statement(his, INSURED, away) == ("0", "balanced")  # reversed: counts in neither
    assert _yibao_totals(his, TREATING) == home


def test_a_reconciliation_naming_the_insured_area_counts_a_hospitals_visit_by_its_clr_type(
    areas: Areas,
) -> None:
    hospital = _his(areas, HOSPITAL)
    person = _psn_no(areas, INSURED, TRAVELLER)
    mdtrt_id = _registered(hospital, person)
    fee = {"feedetail": [_fee(mdtrt_id, person, "1", "EXAM", "400.00")]}
    assert hospital.call("2204", fee, insuplc_admdvs=INSURED)["infcode"] == 0
    outpatient, pharmacy = (
        _yibao_totals(hospital, INSURED, clr_type="11"),
        _yibao_totals(hospital, INSURED),
    )
    home = _yibao_totals(hospital, TREATING, clr_type="11")
    data = _visit_settlement(mdtrt_id, person, "400.00")
    done = hospital.call("2207", {"data": data}, insuplc_admdvs=INSURED)
    assert done["infcode"] == 0, done["err_msg"]
    setl = done["output"]["setlinfo"]
    assert (setl["med_type"], setl["clr_type"]) == ("11", "11")  # the visit's, as at home
    bill = (40_000, round(setl["fund_pay_sumamt"] * 100), round(setl["acct_pay"] * 100), 1)
    assert bill[1] > 0  # A's fund paid its share
    assert _statement(hospital, INSURED, _plus(outpatient, bill), clr_type="11") == (
        "0", "balanced",
    )  # fmt: skip
    assert _yibao_totals(hospital, INSURED) == pharmacy
    assert _yibao_totals(hospital, TREATING, clr_type="11") == home
    cancel = {"data": {"setl_id": setl["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": person}}
    assert hospital.call("2208", cancel, insuplc_admdvs=INSURED)["infcode"] == 0
    assert _yibao_totals(hospital, INSURED, clr_type="11") == outpatient


def test_a_2103_naming_the_institutions_area_for_a_travellers_bill_is_refused_naming_theirs(
    areas: Areas,
) -> None:
    his = _his(areas)
    sold = his.call("2102", _purchase(areas), insuplc_admdvs=INSURED)
    assert sold["infcode"] == 0, sold["err_msg"]
    setl = sold["output"]["setlinfo"]
    after = _money(areas)
    cancel = {"data": {"setl_id": setl["setl_id"], "psn_no": setl["psn_no"]}}
    for named in (TREATING, ""):  # B's numbers it is not; nor a message naming no area's
        refused = his.call("2103", cancel, insuplc_admdvs=named)
        assert refused["infcode"] == -1, refused
        assert f"insuplc_admdvs {INSURED}" in refused["err_msg"]
    assert _money(areas) == after
    assert his.call("2103", cancel, insuplc_admdvs=INSURED)["infcode"] == 0


def test_a_2103_naming_the_institutions_area_never_cancels_a_home_bill_with_a_travellers_numbers(
    areas: Areas,
) -> None:
    """A home bill and a traveller's bill with the same setl_id and psn_no (numbers of two
    databases): a 2103 naming B cannot tell them apart, so it cancels neither. The traveller's
    is cancelled naming A, the home one by its msgid."""
    his = _his(areas)
    traveller = _psn_no(areas, INSURED, TRAVELLER)
    assert _psn_no(areas, TREATING, LOCAL) == traveller  # each the first person of its database
    away, home = _same_setl_id(areas, his)
    assert away["setl_id"] == home["setl_id"]
    local = areas.personal(TREATING, LOCAL)
    before, local_before = _money(areas), areas.balance(TREATING, local)
    cancel = {"data": {"setl_id": home["setl_id"], "psn_no": traveller}}
    refused = his.call("2103", cancel, insuplc_admdvs=TREATING)
    assert refused["infcode"] == -1, refused
    assert f"insuplc_admdvs {INSURED}" in refused["err_msg"]
    assert "2601" in refused["err_msg"]
    assert (_money(areas), areas.balance(TREATING, local)) == (before, local_before)
    assert his.call("2103", cancel, insuplc_admdvs=INSURED)["infcode"] == 0
    assert areas.balance(TREATING, local) == local_before  # the traveller's, not B's
    reversal = {"data": {"omsgid": home["msgid"], "oinfno": "2102", "psn_no": traveller}}
    reversed_ = his.call("2601", reversal, insuplc_admdvs=TREATING)
    assert reversed_["output"]["data"]["reversed"] == "1", reversed_
    assert areas.balance(TREATING, local) == local_before + round(home["acct_pay"] * 100)


def test_a_travellers_outpatient_visit_at_bs_hospital_is_paid_under_as_policy_once(
    areas: Areas,
) -> None:
    hospital = _his(areas, HOSPITAL)
    person = _psn_no(areas, INSURED, TRAVELLER)
    before, fund = _money(areas, HOSPITAL), areas.balance(INSURED, accounts.pooled_fund(INSURED))
    bills = _bills(areas)
    mdtrt_id = _registered(hospital, person)
    with areas.app.in_area(TREATING).uow() as uow:
        visit = uow.session.scalars(
            select(NationalVisit).where(NationalVisit.mdtrt_id == mdtrt_id)
        ).one()
        assert (visit.insured_area, str(visit.person_id)) == (INSURED, person)
    lines = [_fee(mdtrt_id, person, "1", "EXAM", "300.00"),
             _fee(mdtrt_id, person, "2", "TONIC", "20.00")]  # fmt: skip
    up = hospital.call("2204", {"feedetail": lines}, insuplc_admdvs=INSURED)
    assert up["infcode"] == 0, up["err_msg"]
    assert up["output"]["result"][0]["inscp_scp_amt"] == 300  # B's catalogue: class A
    data = _visit_settlement(mdtrt_id, person, "320.00")
    pre = hospital.call("2206", {"data": data}, insuplc_admdvs=INSURED)
    assert pre["infcode"] == 0, pre["err_msg"]
    assert _money(areas, HOSPITAL) == before  # nothing moved

    body = hospital.envelope("2207", {"data": data}, insuplc_admdvs=INSURED)
    done = read(hospital.send(body))
    assert done["infcode"] == 0, done["err_msg"]
    setl = done["output"]["setlinfo"]
    # A's policy at a level 2 hospital: 200.00 deductible, the fund 60 % of the rest of the
    # eligible 300.00 (B's would pay 80 %); the account then pays what it holds
    paid = min(before[0], 32_000 - 6_000)
    assert (setl["act_pay_dedc"], setl["fund_pay_sumamt"]) == (200, 60)
    assert setl["pool_prop_selfpay"] == 40  # the 40 % the fund leaves: its ratio is A's 0.6
    assert (setl["acct_pay"] * 100, setl["psn_cash_pay"] * 100) == (paid, 32_000 - 6_000 - paid)
    assert (setl["balc"] * 100, setl["psn_no"], setl["mdtrt_id"]) == (
        before[0] - paid, person, mdtrt_id,
    )  # fmt: skip
    amounts = {key: setl[key] for key in ("fund_pay_sumamt", "acct_pay", "psn_cash_pay",
                                          "act_pay_dedc", "pool_prop_selfpay")}  # fmt: skip
    assert amounts == {key: pre["output"]["setlinfo"][key] for key in amounts}
    owed = paid + 6_000
    moved = (before[0] - paid, before[1] + owed, before[2] - owed, before[3] + owed)
    assert _money(areas, HOSPITAL) == moved
    assert areas.balance(INSURED, accounts.pooled_fund(INSURED)) == fund - 6_000
    assert _count(areas, INSURED, InterAreaBill) == bills[0] + 1
    assert _count(areas, TREATING, InterAreaBill) == bills[1] + 1
    assert _linked(areas, mdtrt_id) == [int(setl["setl_id"])] * 2

    assert read(hospital.send(body))["output"] == done["output"]  # the same msgid: the first
    again = hospital.call("2207", {"data": data}, insuplc_admdvs=INSURED)  # a new msgid
    assert again["infcode"] == -1
    assert "no unsettled fee lines" in again["err_msg"]
    assert _money(areas, HOSPITAL) == moved
    _both_books_reconcile(areas)

    cancel = {"data": {"setl_id": setl["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": person}}
    home = hospital.call("2208", cancel, insuplc_admdvs=TREATING)
    assert home["infcode"] == -1  # the visit is of A's person: its messages name A
    assert f"insuplc_admdvs {INSURED}" in home["err_msg"]
    back = hospital.call("2208", cancel, insuplc_admdvs=INSURED)
    assert back["infcode"] == 0, back["err_msg"]
    assert back["output"]["setlinfo"]["acct_pay"] == -setl["acct_pay"]
    assert _money(areas, HOSPITAL) == before
    assert areas.balance(INSURED, accounts.pooled_fund(INSURED)) == fund
    assert _linked(areas, mdtrt_id) == [None, None]  # the lines may be settled again

    # settled again, then reversed by 2601: both books give back, the lines unlinked
    body = hospital.envelope("2207", {"data": data}, insuplc_admdvs=INSURED)
    redone = read(hospital.send(body))
    assert redone["infcode"] == 0, redone["err_msg"]
    assert redone["output"]["setlinfo"]["fund_pay_sumamt"] == 60  # the year's usage given back
    reversal = {"data": {"omsgid": body["msgid"], "oinfno": "2207", "psn_no": person}}
    reversed_ = hospital.call("2601", reversal, insuplc_admdvs=INSURED)
    assert reversed_["output"]["data"]["reversed"] == "1", reversed_
    assert _money(areas, HOSPITAL) == before
    assert _linked(areas, mdtrt_id) == [None, None]
    _both_books_reconcile(areas)


def test_a_visit_being_settled_by_one_msgid_is_not_settled_by_another(areas: Areas) -> None:
    """A visit across areas is settled in two databases one after the other, so no lock of
    one can keep a second msgid from settling the same lines meanwhile: the first msgid's
    claim on the visit does. A settlement that moved nothing gives its claim up."""
    hospital = _his(areas, HOSPITAL)
    person = _psn_no(areas, INSURED, TRAVELLER)
    mdtrt_id = _registered(hospital, person)
    fee = {"feedetail": [_fee(mdtrt_id, person, "1", "EXAM", "50.00")]}
    assert hospital.call("2204", fee, insuplc_admdvs=INSURED)["infcode"] == 0
    data = _visit_settlement(mdtrt_id, person, "50.00")
    before = _money(areas, HOSPITAL)

    wrong = {"data": {**data, "exp_content": {"card_pin": "000000"}}}
    refused = hospital.call("2207", wrong, insuplc_admdvs=INSURED)
    assert refused["infcode"] == -1
    assert _claim(areas, mdtrt_id) is None  # nothing moved: the claim given up

    first = hospital.envelope("2207", {"data": data}, insuplc_admdvs=INSURED)
    with areas.app.in_area(TREATING).uow() as uow:  # as the first 2207 leaves it, mid-way
        uow.session.execute(
            update(NationalVisit)
            .where(NationalVisit.mdtrt_id == mdtrt_id)
            .values(settling_msgid=first["msgid"])
        )
    second = hospital.call("2207", {"data": data}, insuplc_admdvs=INSURED)
    assert second["infcode"] == -1
    assert first["msgid"] in second["err_msg"]
    assert _money(areas, HOSPITAL) == before  # the second moved nothing
    done = read(hospital.send(first))  # the first goes on
    assert done["infcode"] == 0, done["err_msg"]
    assert _linked(areas, mdtrt_id) == [int(done["output"]["setlinfo"]["setl_id"])]
    assert _claim(areas, mdtrt_id) is None  # the link ends the claim
    assert _money(areas, HOSPITAL) != before
    _both_books_reconcile(areas)


def test_a_visit_whose_2207_a_2601_overtook_is_free_for_another_msgid(
    areas: Areas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hospital's 2207 barred in A's book by its 2601 pays nothing and gives its claim on
    the visit up, so the visit's lines are settled by the next msgid."""
    hospital = _his(areas, HOSPITAL)
    person = _psn_no(areas, INSURED, TRAVELLER)
    mdtrt_id = _registered(hospital, person)
    fee = {"feedetail": [_fee(mdtrt_id, person, "1", "EXAM", "50.00")]}
    assert hospital.call("2204", fee, insuplc_admdvs=INSURED)["infcode"] == 0
    data = _visit_settlement(mdtrt_id, person, "50.00")
    before = _money(areas, HOSPITAL)
    first = hospital.envelope("2207", {"data": data}, insuplc_admdvs=INSURED)
    reversal = {"data": {"omsgid": first["msgid"], "oinfno": "2207", "psn_no": person}}
    settle = at_pos.settle_across_areas

    def overtaken(**given: Any) -> Any:
        assert hospital.call("2601", reversal, insuplc_admdvs=INSURED)["infcode"] == 0
        return settle(**given)

    monkeypatch.setattr(at_pos, "settle_across_areas", overtaken)
    barred = read(hospital.send(first))
    monkeypatch.undo()
    assert (barred["infcode"], barred["err_msg"]) == (-1, BARRED)
    assert _money(areas, HOSPITAL) == before
    assert _claim(areas, mdtrt_id) is None
    done = hospital.call("2207", {"data": data}, insuplc_admdvs=INSURED)
    assert done["infcode"] == 0, done["err_msg"]
    assert _linked(areas, mdtrt_id) == [int(done["output"]["setlinfo"]["setl_id"])]
    _both_books_reconcile(areas)


def _claim(areas: Areas, mdtrt_id: str) -> str | None:
    with areas.app.in_area(TREATING).uow() as uow:
        return uow.session.scalar(
            select(NationalVisit.settling_msgid).where(NationalVisit.mdtrt_id == mdtrt_id)
        )


def test_a_visit_is_reached_only_through_the_insured_area_it_was_registered_with(
    areas: Areas,
) -> None:
    hospital = _his(areas, HOSPITAL)
    traveller, local = _psn_no(areas, INSURED, TRAVELLER), _psn_no(areas, TREATING, LOCAL)
    away = _registered(hospital, traveller)
    home = _registered(hospital, local, area=TREATING)
    for mdtrt_id, person, named in ((away, traveller, TREATING), (home, local, INSURED)):
        fee = _fee(mdtrt_id, person, "1", "EXAM", "10.00")
        refused = hospital.call("2204", {"feedetail": [fee]}, insuplc_admdvs=named)
        assert refused["infcode"] == -1, refused
        assert f"insuplc_admdvs: '{named}'" in refused["err_msg"]
        assert mdtrt_id in refused["err_msg"]
        data = _visit_settlement(mdtrt_id, person, "10.00")
        refused = hospital.call("2207", {"data": data}, insuplc_admdvs=named)
        assert refused["infcode"] == -1
        assert "insuplc_admdvs" in refused["err_msg"]
    stranger = str(int(traveller) + 1_000)  # no person of A's database
    unknown = hospital.call("2201", _registration(stranger), insuplc_admdvs=INSURED)
    assert unknown["infcode"] == -1
    assert stranger in unknown["err_msg"], unknown
    for infno in ("2202", "2203"):
        given = {"mdtrt_id": away, "psn_no": traveller}
        block = "data" if infno == "2202" else "mdtrtinfo"
        assert hospital.call(infno, {block: given}, insuplc_admdvs=TREATING)["infcode"] == -1
    info = hospital.call("2203", {"mdtrtinfo": {"mdtrt_id": away, "psn_no": traveller,
                                                "med_type": "14"}, "diseinfo": []},
                         insuplc_admdvs=INSURED)  # fmt: skip
    assert info["infcode"] == 0, info["err_msg"]
    fees = {"feedetail": [_fee(away, traveller, "1", "EXAM", "10.00")]}
    assert hospital.call("2204", fees, insuplc_admdvs=INSURED)["infcode"] == 0
    deleted = hospital.call(
        "2205",
        {"data": {"mdtrt_id": away, "psn_no": traveller, "chrg_bchno": "0000"}},
        insuplc_admdvs=INSURED,
    )
    assert deleted["infcode"] == 0, deleted["err_msg"]
    cancelled = hospital.call("2202", {"data": {"mdtrt_id": away, "psn_no": traveller}},
                              insuplc_admdvs=INSURED)  # fmt: skip
    assert cancelled["infcode"] == 0, cancelled["err_msg"]


def test_a_travellers_admission_is_settled_after_discharge_under_as_policy_and_cancelled(
    areas: Areas,
) -> None:
    hospital = _his(areas, HOSPITAL)
    person = _psn_no(areas, INSURED, TRAVELLER)
    before = _money(areas, HOSPITAL)
    admission = {"mdtrtinfo": {"psn_no": person, "insutype": "310", "mdtrt_cert_type": "03",
                               "mdtrt_cert_no": CARDS[TRAVELLER], "med_type": "21",
                               "ipt_no": "IP1", "begntime": "2024-03-01 09:00:00"},
                 "diseinfo": []}  # fmt: skip
    admitted = hospital.call("2401", admission, insuplc_admdvs=INSURED)
    assert admitted["infcode"] == 0, admitted["err_msg"]
    mdtrt_id = admitted["output"]["result"]["mdtrt_id"]
    fee = {"feedetail": [_fee(mdtrt_id, person, "1", "EXAM", "1000.00")]}
    assert hospital.call("2301", fee, insuplc_admdvs=INSURED)["infcode"] == 0
    out = {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": person, "endtime": "2024-03-05 09:00:00"}}
    assert hospital.call("2402", out, insuplc_admdvs=TREATING)["infcode"] == -1
    discharged = hospital.call("2402", out, insuplc_admdvs=INSURED)
    assert discharged["infcode"] == 0, discharged["err_msg"]
    data = _visit_settlement(mdtrt_id, person, "1000.00")
    pre = hospital.call("2303", {"data": data}, insuplc_admdvs=INSURED)
    assert pre["infcode"] == 0, pre["err_msg"]
    done = hospital.call("2304", {"data": data}, insuplc_admdvs=INSURED)
    assert done["infcode"] == 0, done["err_msg"]
    setl = done["output"]["setlinfo"]
    # A's inpatient terms at level 2: 600.00 per admission, then 88 % (B's would be 96 %)
    assert (setl["act_pay_dedc"], setl["fund_pay_sumamt"]) == (600, 352)
    assert setl["fund_pay_sumamt"] == pre["output"]["setlinfo"]["fund_pay_sumamt"]
    paid = round(setl["acct_pay"] * 100)
    owed = paid + 35_200
    assert _money(areas, HOSPITAL) == (
        before[0] - paid, before[1] + owed, before[2] - owed, before[3] + owed,
    )  # fmt: skip
    with areas.app.in_area(TREATING).uow() as uow:
        status = uow.session.scalar(
            select(NationalVisit.status).where(NationalVisit.mdtrt_id == mdtrt_id)
        )
    assert status == "settled"
    cancel = {"data": {"setl_id": setl["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": person}}
    back = hospital.call("2305", cancel, insuplc_admdvs=INSURED)
    assert back["infcode"] == 0, back["err_msg"]
    assert _money(areas, HOSPITAL) == before
    with areas.app.in_area(TREATING).uow() as uow:
        status = uow.session.scalar(
            select(NationalVisit.status).where(NationalVisit.mdtrt_id == mdtrt_id)
        )
    assert status == "discharged"
    assert _linked(areas, mdtrt_id) == [None]
    _both_books_reconcile(areas)


def _registration(person: str) -> dict[str, Any]:
    return {"data": {"psn_no": person, "insutype": "310", "begntime": "2024-03-01 09:00:00",
                     "med_type": "11", "mdtrt_cert_type": "03",
                     "mdtrt_cert_no": CARDS[TRAVELLER], "ipt_otp_no": "OP1"}}  # fmt: skip


def _registered(hospital: Client, person: str, *, area: str = INSURED) -> str:
    """A new outpatient visit of `person` (a number of `area`'s database); its mdtrt_id."""
    reg = hospital.call("2201", _registration(person), insuplc_admdvs=area)
    assert reg["infcode"] == 0, reg["err_msg"]
    mdtrt_id: str = reg["output"]["data"]["mdtrt_id"]
    return mdtrt_id


def _fee(mdtrt_id: str, person: str, sn: str, code: str, amount: str) -> dict[str, Any]:
    return {"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": person, "chrg_bchno": "B1",
            "fee_ocur_time": "2024-03-01 10:00:00", "med_list_codg": code,
            "medins_list_codg": code, "det_item_fee_sumamt": Decimal(amount), "cnt": 1,
            "pric": Decimal(amount)}  # fmt: skip


def _visit_settlement(mdtrt_id: str, person: str, total: str) -> dict[str, Any]:
    """2206/2207 (2303/2304): the visit's unsettled lines, by the traveller's card and PIN."""
    return {"psn_no": person, "mdtrt_cert_type": "03", "mdtrt_cert_no": CARDS[TRAVELLER],
            "med_type": "11", "medfee_sumamt": Decimal(total), "psn_setlway": "01",
            "mdtrt_id": mdtrt_id, "insutype": "310", "acct_used_flag": "1",
            "exp_content": {"card_pin": PIN}}  # fmt: skip


def _linked(areas: Areas, mdtrt_id: str) -> list[int | None]:
    """The settlement each fee line of the visit is linked to (a bill of its insured area)."""
    with areas.app.in_area(TREATING).uow() as uow:
        return list(
            uow.session.scalars(
                select(NationalFeeLine.settlement_id)
                .join(NationalVisit, NationalVisit.id == NationalFeeLine.visit_id)
                .where(NationalVisit.mdtrt_id == mdtrt_id)
                .order_by(NationalFeeLine.feedetl_sn)
            )
        )


def _his(areas: Areas, institution: str = "B001") -> Client:
    """B's pharmacy's (or hospital's) HIS, signed in; B's catalogue lists the drug and the
    exam (class A) and the tonic (C)."""
    with areas.app.in_area(TREATING).uow() as uow:
        catalogue.load(
            uow=uow,
            area_code=TREATING,
            from_month="2024-01",
            entries=catalogue.parse_csv(
                "code,name,class,selfpay_prop\nDRUG-1,Aspirin,A,0\nTONIC,Tonic,C,0\nEXAM,Exam,A,0\n"
            ),
        )
    his = Client(areas.app.in_area(TREATING), areas.client, institution)
    his.sign_in()
    return his


def _person_info(cert_no: str, *, cert_type: str = "03") -> dict[str, Any]:
    return {
        "data": {"mdtrt_cert_type": cert_type, "mdtrt_cert_no": cert_no, "card_sn": "",
                 "begntime": "", "psn_cert_type": "", "certno": "", "psn_name": "",
                 "exp_content": {"card_pin": PIN}},
    }  # fmt: skip


def _purchase(areas: Areas, *, pin: str = PIN, holder: str = TRAVELLER) -> dict[str, Any]:
    """10.00 of the listed drug and 5.00 of the tonic, by the traveller's (or `holder`'s)
    card and PIN."""
    lines = [("1", "DRUG-1", "10.00"), ("2", "TONIC", "5.00")]
    area = INSURED if holder == TRAVELLER else TREATING
    return {
        "druginfo": {
            "psn_no": _psn_no(areas, area, holder), "mdtrt_cert_type": "03",
            "mdtrt_cert_no": CARDS[holder], "begntime": "2024-03-01 10:00:00",
            "medfee_sumamt": Decimal("15.00"), "insutype": "310", "acct_used_flag": "1",
            "med_type": "41", "invono": "", "dise_codg": "", "dise_name": "",
            "exp_content": {"card_pin": pin},
        },
        "drugdetail": [
            {"feedetl_sn": sn, "rxno": "", "rx_circ_flag": "0",
             "fee_ocur_time": "2024-03-01 10:00:00", "med_list_codg": code,
             "medins_list_codg": code, "det_item_fee_sumamt": Decimal(amount), "cnt": 1,
             "pric": Decimal(amount), "bilg_dr_codg": "D1", "bilg_dr_name": "Dr"}
            for sn, code, amount in lines
        ],
    }  # fmt: skip


def _same_setl_id(areas: Areas, his: Client) -> tuple[dict[str, Any], dict[str, Any]]:
    """A traveller's bill (A's number) and a home bill of B's person at the pharmacy with the
    same setl_id: sold, one kind or the other, until the numbers meet. Each answer's setlinfo,
    the home one with its msgid."""
    away: dict[str, Any] = {}
    home: dict[str, Any] = {}
    for _ in range(60):
        if away and home and away["setl_id"] == home["setl_id"]:
            break
        if not away or (home and int(away["setl_id"]) < int(home["setl_id"])):
            sold = his.call("2102", _purchase(areas), insuplc_admdvs=INSURED)
            assert sold["infcode"] == 0, sold["err_msg"]
            away = sold["output"]["setlinfo"]
        else:
            body = his.envelope("2102", _purchase(areas, holder=LOCAL), insuplc_admdvs=TREATING)
            sold = read(his.send(body))
            assert sold["infcode"] == 0, sold["err_msg"]
            home = {**sold["output"]["setlinfo"], "msgid": body["msgid"]}
    return away, home


def _statement(
    his: Client,
    area: str,
    totals: tuple[int, int, int, int],
    insutype: str = "310",
    *,
    clr_type: str = "41",
) -> tuple[str, str]:
    """A 3201 of today's settlements naming `area` ("" for none), with the institution's
    totals (total, fund, account in fen; count): its result and its differences."""
    day = his.app.today().isoformat()
    data = {"insutype": insutype, "clr_type": clr_type, "setl_optins": TREATING,
            "stmt_begndate": day, "stmt_enddate": day,
            "medfee_sumamt": Decimal(totals[0]) / 100, "fund_pay_sumamt": Decimal(totals[1]) / 100,
            "acct_pay": Decimal(totals[2]) / 100, "fixmedins_setl_cnt": totals[3]}  # fmt: skip
    answer = his.call("3201", {"data": data}, insuplc_admdvs=area)
    assert answer["infcode"] == 0, answer["err_msg"]
    info = answer["output"]["stmtinfo"]
    return info["stmt_rslt"], info["stmt_rslt_dscr"]


def _yibao_totals(
    his: Client, area: str, insutype: str = "310", *, clr_type: str = "41"
) -> tuple[int, int, int, int]:
    """yibao's totals of today, as a 3201 with none reports them in its differences (the
    module's other tests settle today too)."""
    _, differences = _statement(his, area, (0, 0, 0, 0), insutype, clr_type=clr_type)
    found = dict.fromkeys(("medfee_sumamt", "fund_pay_sumamt", "acct_pay"), 0)
    count = 0
    for name, value in re.findall(r"(\w+): yibao ([\d.]+)", differences):
        if name == "fixmedins_setl_cnt":
            count = int(value)
        else:
            found[name] = int(Decimal(value) * 100)
    return found["medfee_sumamt"], found["fund_pay_sumamt"], found["acct_pay"], count


def _plus(totals: tuple[int, int, int, int], bill: tuple[int, ...]) -> tuple[int, int, int, int]:
    total, fund, account, count = (a + b for a, b in zip(totals, bill, strict=True))
    return total, fund, account, count


def _psn_no(areas: Areas, area: str, id_number: str) -> str:
    with areas.app.in_area(area).uow() as uow:
        return str(registry.person_by_id_number(uow=uow, id_number=id_number).id)


def _money(areas: Areas, institution: str = "B001") -> tuple[int, int, int, int]:
    """The traveller's personal account and A's payable to B, in A's book; B's receivable
    from A and its pharmacy's (or hospital's) due, in B's."""
    return (
        areas.balance(INSURED, areas.personal(INSURED, TRAVELLER)),
        areas.balance(INSURED, accounts.inter_area(INSURED, TREATING)),
        areas.balance(TREATING, accounts.inter_area(TREATING, INSURED)),
        areas.balance(TREATING, accounts.institution_payable(TREATING, institution)),
    )


def _tries(areas: Areas) -> int:
    with areas.app.in_area(INSURED).uow() as uow:
        return cards.card_by_number(uow=uow, card_no=CARDS[TRAVELLER]).failed_pin_tries


def _bills(areas: Areas) -> tuple[int, int]:
    """The cross-area bills A's database and B's hold."""
    return _count(areas, INSURED, InterAreaBill), _count(areas, TREATING, InterAreaBill)


def _a_2102_and_its_2601(areas: Areas) -> tuple[Client, dict[str, Any], dict[str, Any]]:
    """B's pharmacy, a 2102 of the traveller's purchase (not sent), and the 2601 reversing it."""
    his = _his(areas)
    body = his.envelope("2102", _purchase(areas), insuplc_admdvs=INSURED)
    psn_no = _psn_no(areas, INSURED, TRAVELLER)
    return his, body, {"data": {"omsgid": body["msgid"], "oinfno": "2102", "psn_no": psn_no}}


def _both_books_reconcile(areas: Areas) -> None:
    for area in (INSURED, TREATING):
        with areas.app.in_area(area).uow() as uow:
            assert _real_problems(check_ledger(uow.ledger)) == [], area


def _real_problems(problems: list[Problem]) -> list[str]:
    """The ledger check's problems but the fixture's opening credits, which no crediting run
    caused."""
    found = [f"{p.invariant}: {p.detail}" for p in problems]
    return [text for text in found if "(crediting opening:" not in text]
