"""The web pages through HTTP: login and its cookie, CSRF, access refusals, each role's page,
and the audit entries the pages leave; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.e2e.api.world import (
    CARD,
    HOSPITAL_USER,
    INSIDE,
    NEIGHBOUR,
    OUTSIDE,
    PASSWORD,
    PIN,
    World,
    settings_for,
)
from tests.e2e.web.conftest import csrf_of
from yibao.adapters.tables import Contribution
from yibao.domain.idnumber import mask
from yibao.services import audit
from yibao.services.cards import electronic_card, family

Browser = Callable[[str], TestClient]


def test_login_sets_an_httponly_lax_session_cookie_and_lands_on_the_roles_home(
    world: World, browser_of: Browser
) -> None:
    client = TestClient(world.client.app)
    form = client.get("/login")
    answer = client.post(
        "/login",
        data={"username": "the-employer", "password": PASSWORD, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/employer"
    cookie = answer.headers["set-cookie"].lower()
    assert "yibao_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    homes = {"the-person": "/", "the-clerk": "/desk", "the-institution": "/counter"}
    for user, home in {**homes, "the-auditor": "/auditor"}.items():
        page = browser_of(user).get(home)
        assert page.status_code == 200, (user, page.text[:400])


def test_a_wrong_password_or_a_login_without_its_csrf_token_is_refused(world: World) -> None:
    client = TestClient(world.client.app)
    token = csrf_of(client.get("/login").text)
    wrong = client.post(
        "/login", data={"username": "the-person", "password": "nope" * 3, "csrf": token}
    )
    assert wrong.status_code == 401
    assert "用户名或密码错误" in wrong.text
    stranger = TestClient(world.client.app)  # no login form seen: no CSRF cookie
    forged = stranger.post(
        "/login",
        data={"username": "the-person", "password": PASSWORD, "csrf": token},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert "yibao_session" not in forged.headers.get("set-cookie", "")


def test_without_a_session_every_page_sends_to_login(world: World) -> None:
    client = TestClient(world.client.app)
    for path in ("/", "/employer", "/desk", "/counter", "/auditor", f"/persons/{INSIDE}"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/login"


def test_the_person_sees_both_accounts_named_and_the_findings(browser_of: Browser) -> None:
    page = browser_of("the-person").get("/")
    assert page.status_code == 200
    assert "医保个人账户" in page.text
    assert "社保卡金融账户" in page.text
    assert 'data-fen="10000"' in page.text  # the card's financial account: 100.00 deposited
    assert 'data-code="contributions_stopped"' in page.text
    assert "<svg" in page.text
    assert mask(INSIDE) in page.text
    assert INSIDE not in page.text.replace(f"/persons/{INSIDE}", "")


def test_the_english_switch_is_remembered_in_a_cookie(browser_of: Browser) -> None:
    client = browser_of("the-person")
    english = client.get("/?lang=en")
    assert "Medical insurance personal account" in english.text
    assert 'lang="en"' in english.text
    assert "yibao_lang=en" in english.headers["set-cookie"]
    again = client.get("/")
    assert "financial (bank) account" in again.text
    assert "医保个人账户" in client.get("/?lang=zh").text


def test_a_person_cannot_open_another_persons_pages(world: World, browser_of: Browser) -> None:
    client = browser_of("the-person")
    for path in (
        f"/persons/{NEIGHBOUR}",
        f"/persons/{OUTSIDE}",
        f"/persons/{NEIGHBOUR}/ecard",
        f"/persons/{NEIGHBOUR}/statements/2024.pdf",
        "/desk",
        "/counter",
        "/auditor",
        "/employer",
    ):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert mask(NEIGHBOUR) not in answer.text
        assert "Zhang San" not in answer.text
    with world.app.uow() as uow:
        refused = audit.entries(uow=uow, person=NEIGHBOUR, user="the-person")
    assert refused
    assert {entry.event.outcome for entry in refused} == {"forbidden"}
    assert {entry.event.channel for entry in refused} == {"web"}


def test_a_form_without_the_sessions_csrf_token_changes_nothing(
    world: World, browser_of: Browser
) -> None:
    client = browser_of("the-person")
    for token in ("", "forged"):
        answer = client.post(
            f"/persons/{INSIDE}/family",
            data={"member": NEIGHBOUR, "relation": "spouse", "csrf": token},
        )
        assert answer.status_code == 403
    with world.app.uow() as uow:
        assert family.bindings_of(uow=uow, id_number=INSIDE) == []


def test_reading_the_page_appends_audit_entries_on_the_web_channel(
    world: World, browser_of: Browser
) -> None:
    browser_of("the-person").get("/")
    with world.app.uow() as uow:
        found = audit.entries(uow=uow, person=INSIDE, user="the-person")
    actions = {entry.event.action for entry in found}
    assert {"inquiry", "payment_records", "persons.transfers"} <= actions
    assert {entry.event.channel for entry in found} == {"web"}


def test_logout_revokes_the_session(browser_of: Browser) -> None:
    client = browser_of("the-person")
    page = client.get("/")
    answer = client.post("/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert answer.status_code == 303
    stolen = page.request.headers["cookie"]
    again = TestClient(client.app).get("/", headers={"cookie": stolen}, follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == "/login"


def test_the_employer_sees_registrations_against_the_art_58_deadline(
    browser_of: Browser,
) -> None:
    page = browser_of("the-employer").get("/employer")
    assert page.status_code == 200
    assert 'data-registration="on_time"' in page.text
    assert mask(INSIDE) in page.text
    assert INSIDE not in page.text


def test_the_clerk_finds_a_person_and_issues_a_card(browser_of: Browser) -> None:
    client = browser_of("the-clerk")
    found = client.get("/desk", params={"q": NEIGHBOUR})
    assert f"/desk/persons/{NEIGHBOUR}" in found.text
    outside = client.get("/desk", params={"q": OUTSIDE})
    assert f"/desk/persons/{OUTSIDE}" not in outside.text
    record = client.get(f"/desk/persons/{NEIGHBOUR}")
    assert record.status_code == 200
    issued = client.post(
        f"/desk/persons/{NEIGHBOUR}/card-issue",
        data={"csrf": csrf_of(record.text), "card_no": "C7777"},
    )
    assert issued.status_code == 200
    assert "C7777" in issued.text
    assert client.get(f"/desk/persons/{OUTSIDE}").status_code == 403


def test_the_clerk_runs_a_crediting_run_and_watches_it_to_completion(
    browser_of: Browser,
) -> None:
    client = browser_of("the-clerk")
    desk = client.get("/desk")
    started = client.post(
        "/desk/crediting",
        data={"csrf": csrf_of(desk.text), "area": "420100", "month": "2024-03"},
        headers={"HX-Request": "true"},
    )
    assert started.status_code == 200, started.text
    assert 'id="run-state"' in started.text
    deadline = time.monotonic() + 30
    state = started.text
    while 'data-state="completed"' not in state:
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
        state = client.get("/desk/crediting/420100-2024-03", headers={"HX-Request": "true"}).text
    assert "hx-get" not in state  # no more polling once completed


def test_the_cashier_settles_a_sale_and_the_balance_drops_by_the_account_part(
    world: World, browser_of: Browser
) -> None:
    person = browser_of("the-person")
    before = _medical_fen(person.get("/").text)
    cashier = browser_of("the-institution")
    form = cashier.get("/counter")
    receipt = cashier.post(
        "/counter/sales",
        data={
            "csrf": csrf_of(form.text),
            "ref": "WEB-TEST-1",
            "card": CARD,
            "pin": PIN,
            "code1": "A01",
            "qty1": "1",
            "amount1": "12.30",
            "code2": "B02",
            "qty2": "2",
            "amount2": "5.00",
            "own2": "on",
        },
    )
    assert receipt.status_code == 200, receipt.text
    account_part = _cell(receipt.text, "account-part")
    assert account_part == "12.30"
    assert _cell(receipt.text, "cash-part") == "5.00"
    after = _medical_fen(person.get("/").text)
    assert before - after == 1230
    assert _cell(receipt.text, "balance-after") == f"{after // 100}.{after % 100:02d}"
    refund = cashier.post(
        "/counter/refunds", data={"csrf": csrf_of(form.text), "ref": "WEB-TEST-1"}
    )
    assert refund.status_code == 200
    assert _medical_fen(person.get("/").text) == before
    statement = cashier.get("/counter/statement")
    assert statement.status_code == 200
    assert 'id="statement"' in statement.text
    assert "<td>是</td>" in statement.text  # reconciled with the ledger


def test_a_hospital_s_receipt_names_the_deductible_the_ratio_and_the_fund_s_part(
    browser_of: Browser,
) -> None:
    """At a level-1 hospital's counter a visit is outpatient: 200.00 of the year's deductible,
    then 0.70 of the rest from the pooled fund."""
    cashier = browser_of(HOSPITAL_USER)
    form = cashier.get("/counter")
    receipt = _card_sale(cashier, csrf_of(form.text), "WEB-HOSPITAL-1", "CARE", "300.00")
    assert receipt.status_code == 200, receipt.text
    assert _cell(receipt.text, "deductible") == "200.00"
    assert _cell(receipt.text, "fund-ratio") == "0.7"
    assert _cell(receipt.text, "fund-part") == "70.00"
    assert "起付线" in receipt.text
    cashier.get("/counter?lang=en")  # remembered for the next page
    again = _card_sale(cashier, csrf_of(form.text), "WEB-HOSPITAL-2", "CARE", "100.00")
    assert again.status_code == 200, again.text
    assert "Deductible applied" in again.text
    assert (_cell(again.text, "deductible"), _cell(again.text, "fund-part")) == ("0.00", "70.00")


def test_a_wrong_pin_at_the_counter_is_a_page_naming_the_refusal(browser_of: Browser) -> None:
    cashier = browser_of("the-institution")
    form = cashier.get("/counter")
    answer = _card_sale(cashier, csrf_of(form.text), "WEB-TEST-2", "A01", "1.00", pin="000000")
    assert answer.status_code in (409, 422)
    assert "000000" not in answer.text
    # the right PIN again, so that the tries do not lock the card for the other tests
    ok = _card_sale(cashier, csrf_of(form.text), "WEB-TEST-3", "A01", "0.01")
    assert ok.status_code == 200


def test_the_auditor_searches_the_trail_and_checks_the_ledger(browser_of: Browser) -> None:
    browser_of("the-person").get("/")
    client = browser_of("the-auditor")
    trail = client.get("/auditor", params={"user": "the-person"})
    assert trail.status_code == 200
    assert mask(INSIDE) in trail.text
    assert INSIDE not in trail.text
    assert "<td>web</td>" in trail.text
    check = client.get("/auditor/ledger")
    assert 'id="ledger-ok"' in check.text


def _card_sale(
    cashier: TestClient, csrf: str, ref: str, code: str, amount: str, *, pin: str = PIN
) -> Any:
    """One item sold at the counter, paid with the card and `pin`."""
    data = {"csrf": csrf, "ref": ref, "card": CARD, "pin": pin, "code1": code, "amount1": amount}
    return cashier.post("/counter/sales", data=data)


def _cell(html: str, cell_id: str) -> str:
    start = html.index(f'id="{cell_id}">') + len(f'id="{cell_id}">')
    return html[start : html.index("<", start)].strip()


def _medical_fen(html: str) -> int:
    marker = 'id="medical-account"'
    start = html.index('data-fen="', html.index(marker)) + len('data-fen="')
    return int(html[start : html.index('"', start)])


def _declaration(client: TestClient, name: str, content: bytes) -> Any:
    csrf = csrf_of(client.get("/employer").text)
    return client.post(
        "/employer/declarations/file",
        data={"csrf": csrf},
        files={"file": (name, content, "text/csv")},
        follow_redirects=False,
    )


def test_the_employer_uploads_a_declaration_and_sees_its_row_errors(
    world: World, browser_of: Browser
) -> None:
    client = browser_of("the-employer")
    with world.app.uow() as uow:
        before = uow.session.scalar(select(func.count()).select_from(Contribution))
    bad = b"id_number,month,insurances,base\n" + f"{INSIDE},2024-10,medical,8k\n".encode()
    refused = _declaration(client, "october.csv", bad)
    assert refused.status_code == 422
    assert 'id="import-errors"' in refused.text
    assert "8k" in refused.text  # the value as written
    assert ">2<" in refused.text  # its row
    good = f"id_number,month,insurances,base\n{INSIDE},2024-10,medical,8000\n".encode()
    accepted = _declaration(client, "october.csv", good)
    assert accepted.status_code == 303
    assert "已导入 1 条缴费记录" in client.get(accepted.headers["location"]).text
    again = _declaration(client, "october-again.csv", good)
    assert "该文件已导入过" in client.get(again.headers["location"]).text
    with world.app.uow() as uow:
        after = uow.session.scalar(select(func.count()).select_from(Contribution))
    assert after == (before or 0) + 1
    forged = client.post(
        "/employer/declarations/file",
        data={"csrf": "forged"},
        files={"file": ("x.csv", good, "text/csv")},
        follow_redirects=False,
    )
    assert forged.status_code == 403


def test_the_employer_declares_a_month_from_the_form_once_and_sees_medical_missing(
    world: World, browser_of: Browser
) -> None:
    """Last month declared for pension only: recorded once however often the form is sent,
    and the table of the last six months flags the medical insurance it lacks."""
    client = browser_of("the-employer")
    page = client.get("/employer")
    last_month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    form = {
        "csrf": csrf_of(page.text),
        "month": last_month,
        "insurances": ["pension"],
        "person": re.findall(r'name="person" value="([^"]+)"', page.text),
        "base": ["8000.00"],
    }
    with world.app.uow() as uow:
        before = uow.session.scalar(select(func.count()).select_from(Contribution))

    first = client.post("/employer/declarations", data=form, follow_redirects=False)
    again = client.post("/employer/declarations", data=form, follow_redirects=False)

    assert (first.status_code, again.status_code) == (303, 303)
    with world.app.uow() as uow:
        after = uow.session.scalar(select(func.count()).select_from(Contribution))
    assert after == before + 1
    declared = client.get(first.headers["location"]).text
    table = declared[declared.index('id="declared"') :]
    row = table[table.index(f">{last_month}<") :]
    row = row[: row.index("</tr>")]
    assert 'class="flag-missing"' in row
    assert mask(INSIDE) in row


def test_the_cashier_settles_with_an_e_voucher_once(world: World, browser_of: Browser) -> None:
    """The payload the person's phone shows pays for one sale; a second sale with it is
    refused and the balance drops once."""
    person = browser_of("the-person")
    before = _medical_fen(person.get("/").text)
    with world.app.uow() as uow:
        issued = electronic_card.issue_evoucher(
            uow=uow,
            id_number=INSIDE,
            now=dt.datetime.now(dt.UTC),
            seconds=300,
            secret=settings_for(world.app).card_secret,
        )
    cashier = browser_of("the-institution")
    form = cashier.get("/counter")
    sale = {"csrf": csrf_of(form.text), "ecard": issued.token, "code1": "A01", "amount1": "1.00"}

    paid = cashier.post("/counter/sales", data={**sale, "ref": "WEB-QR-1"})
    again = cashier.post("/counter/sales", data={**sale, "ref": "WEB-QR-2"})

    assert paid.status_code == 200, paid.text
    assert _cell(paid.text, "account-part") == "1.00"
    assert again.status_code == 409
    assert _medical_fen(person.get("/").text) == before - 100
