"""The insured person's own page: payment records month by month, each settlement's split, the
family binding and its end, the electronic card's QR image and the yearly statement PDF; on
SQLite and PostgreSQL. The tests run in file order on one city (the sale before the split)."""

from __future__ import annotations

import re
from collections.abc import Callable
from xml.etree import ElementTree

from fastapi.testclient import TestClient

from tests.e2e.api.world import CARD, HOSPITAL_USER, INSIDE, NEIGHBOUR, OUTSIDE, PIN, World
from tests.e2e.web.conftest import cells_of_row, csrf_of
from yibao.domain.idnumber import mask
from yibao.services.cards import family

Browser = Callable[[str], TestClient]
SALE = "WEB-SPLIT-1"


def _medical_fen(html: str) -> int:
    found = re.search(r'id="medical-account">.*?data-fen="(-?\d+)"', html, re.S)
    assert found is not None
    return int(found.group(1))


def _fen(yuan: str) -> int:
    whole, cents = yuan.split(".")
    return int(whole) * 100 + int(cents)


def _receipt_cell(html: str, part: str) -> str:
    found = re.search(rf'id="{part}-part">\s*([-\d.]+)', html)
    assert found is not None, part
    return found.group(1)


def test_the_payment_records_show_each_month_newest_first_with_what_was_credited(
    browser_of: Browser,
) -> None:
    page = browser_of("the-person").get("/").text
    months = re.findall(r'<tr data-month="([^"]+)">', page)
    assert months == ["2024-02", "2024-01"]
    credited = 0
    for month in months:
        row = cells_of_row(page, f'data-month="{month}"')
        assert row["paid-by"] == "Employer E001"
        assert set(row["insurances"].split("、")) == {"医疗", "养老"}
        assert row["base"] == "8000.00"
        assert row["credited-on"] == f"{month}-{'31' if month == '2024-01' else '29'}"
        credited += _fen(row["credit"])
    assert credited > 0
    assert credited == _medical_fen(page)  # nothing spent yet: the balance is what was credited


def test_each_settlement_shows_what_the_fund_the_account_and_cash_paid(
    browser_of: Browser,
) -> None:
    """A 300.00 visit at a level-1 hospital: the fund pays its share above the deductible,
    the account the rest it can; the person's page shows the receipt's three parts."""
    cashier = browser_of(HOSPITAL_USER)
    form = cashier.get("/counter")
    receipt = cashier.post(
        "/counter/sales",
        data={
            "csrf": csrf_of(form.text),
            "ref": SALE,
            "card": CARD,
            "pin": PIN,
            "code1": "CARE",
            "amount1": "300.00",
        },
    )
    assert receipt.status_code == 200, receipt.text
    paid = {part: _receipt_cell(receipt.text, part) for part in ("fund", "account", "cash")}
    assert paid["fund"] == "70.00"

    page = browser_of("the-person").get("/").text
    row = cells_of_row(page, f'data-ref="{SALE}"')
    assert (row["fund"], row["account"], row["cash"]) == (
        paid["fund"],
        paid["account"],
        paid["cash"],
    )
    assert row["total"] == "300.00"
    assert sum(_fen(row[part]) for part in ("fund", "account", "cash")) == 30_000


def test_the_person_binds_a_family_member_and_unbinds_them(
    world: World, browser_of: Browser
) -> None:
    client = browser_of("the-person")
    page = client.get("/").text

    bound = client.post(
        f"/persons/{INSIDE}/family",
        data={"csrf": csrf_of(page), "member": NEIGHBOUR, "relation": "spouse"},
        follow_redirects=False,
    )

    assert bound.status_code == 303
    assert bound.headers["location"] == "/?done=bound#family"
    page = client.get(bound.headers["location"]).text
    assert "已绑定。" in page
    family_part = page[page.index('id="family"') :]
    assert mask(NEIGHBOUR) in family_part
    assert "配偶" in family_part
    with world.app.uow() as uow:
        (binding,) = family.bindings_of(uow=uow, id_number=INSIDE)
    assert (binding.pays, binding.unbound_on) == (True, None)

    member = re.search(r'name="member" value="([^"]+)"', family_part)
    assert member is not None
    unbound = client.post(
        f"/persons/{INSIDE}/family/unbind",
        data={"csrf": csrf_of(page), "member": member.group(1)},
        follow_redirects=False,
    )

    assert unbound.status_code == 303
    assert "已解绑。" in client.get(unbound.headers["location"]).text
    with world.app.uow() as uow:
        (binding,) = family.bindings_of(uow=uow, id_number=INSIDE)
    assert binding.unbound_on is not None


def test_a_binding_with_bad_input_names_the_field_and_binds_nobody(
    world: World, browser_of: Browser
) -> None:
    client = browser_of("the-person")
    csrf = csrf_of(client.get("/").text)
    with world.app.uow() as uow:
        before = family.bindings_of(uow=uow, id_number=INSIDE)
    for member, relation, field in (
        (INSIDE, "spouse", "member"),  # oneself
        (NEIGHBOUR, "cousin", "relation"),
        ("4201021990", "spouse", "member"),
    ):
        answer = client.post(
            f"/persons/{INSIDE}/family",
            data={"csrf": csrf, "member": member, "relation": relation},
        )
        assert answer.status_code == 422, (member, relation)
        assert f"<code>{field}</code>" in answer.text
    with world.app.uow() as uow:
        assert family.bindings_of(uow=uow, id_number=INSIDE) == before


def test_the_electronic_card_is_a_qr_code_image_on_the_persons_own_page(
    browser_of: Browser,
) -> None:
    client = browser_of("the-person")
    assert f'href="/persons/{INSIDE}/ecard"' in client.get("/").text
    page = client.get(f"/persons/{INSIDE}/ecard")
    assert page.status_code == 200
    svg = page.text[page.text.index("<svg") : page.text.index("</svg>") + len("</svg>")]
    image = ElementTree.fromstring(svg)
    assert image.tag.endswith("svg")
    assert "qr" in image.get("class", "")
    assert "医保电子凭证二维码" in svg  # its title, read out by a screen reader
    assert image.find(".//{http://www.w3.org/2000/svg}path") is not None  # the modules
    assert client.get(f"/persons/{OUTSIDE}/ecard").status_code == 403


def test_the_person_downloads_their_own_yearly_statement_and_no_one_elses(
    browser_of: Browser,
) -> None:
    client = browser_of("the-person")
    assert f'href="/persons/{INSIDE}/statements/2024.pdf"' in client.get("/").text
    answer = client.get(f"/persons/{INSIDE}/statements/2024.pdf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    disposition = answer.headers["content-disposition"]
    assert "2024" in disposition
    assert INSIDE not in disposition
    for other in (NEIGHBOUR, OUTSIDE):
        refused = client.get(f"/persons/{other}/statements/2024.pdf")
        assert refused.status_code == 403
        assert not refused.content.startswith(b"%PDF")
        assert refused.headers["content-type"].startswith("text/html")


def test_the_findings_evidence_and_basis_read_in_chinese_and_in_english_under_lang_en(
    browser_of: Browser,
) -> None:
    client = browser_of("the-person")
    chinese = client.get("/").text
    stopped = _finding(chinese, "contributions_stopped")
    assert "医保缴费覆盖的最近月份：2024-02" in stopped
    assert "《社会保险法》第六十条" in stopped
    assert "latest month covered" not in stopped
    assert "Social Insurance Law" not in chinese
    assert 'lang="en"' not in _findings(chinese)  # no line of a finding left in English

    english = client.get("/?lang=en").text
    stopped = _finding(english, "contributions_stopped")
    assert "latest month covered by a medical contribution: 2024-02" in stopped
    assert "Social Insurance Law art. 60" in stopped
    assert "医保缴费覆盖" not in english
    client.get("/?lang=zh")


def _finding(html: str, code: str) -> str:
    start = html.index(f'data-code="{code}"')
    return html[start : html.index("</article>", start)]


def _findings(html: str) -> str:
    start = html.index('aria-labelledby="why"')
    return html[start : html.index("</section>", start)]
