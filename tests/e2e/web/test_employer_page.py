"""The employer's page shows no full ID number, not even in its forms, and its declaration form
acts only on the employer's own employees whatever reference is sent; SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.e2e.api.world import INSIDE, NEIGHBOUR, OUTSIDE, PASSWORD, World
from tests.e2e.web.conftest import csrf_of
from yibao.adapters.tables import Contribution
from yibao.domain.idnumber import mask
from yibao.services import accounts
from yibao.services.accounts import Role

Browser = Callable[[str], TestClient]
REF = re.compile(r'name="person" value="([^"]+)"')
FULL_ID_NUMBER = re.compile(r"\d{17}[\dXx]")


def _contributions(world: World) -> int:
    with world.app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(Contribution)) or 0


def _declaration(page: str, refs: list[str]) -> dict[str, object]:
    last_month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    return {
        "csrf": csrf_of(page),
        "month": last_month,
        "insurances": ["medical"],
        "person": refs,
        "base": ["8000.00"] * len(refs),
    }


def test_no_full_id_number_appears_anywhere_in_the_employers_html(browser_of: Browser) -> None:
    client = browser_of("the-employer")
    page = client.get("/employer").text
    assert mask(INSIDE) in page
    assert FULL_ID_NUMBER.findall(page) == []
    refs = REF.findall(page)
    assert len(refs) == 1
    assert INSIDE not in refs[0]
    # a declaration file's row errors echo each value written, an ID number masked
    mistyped = INSIDE[:-1] + ("0" if INSIDE[-1] != "0" else "1")  # its check character wrong
    rows = f"id_number,month,insurances,base\n{mistyped},2024-10,medical,8000\n"
    refused = client.post(
        "/employer/declarations/file",
        data={"csrf": csrf_of(page)},
        files={"file": ("october.csv", rows.encode(), "text/csv")},
    )
    assert refused.status_code == 422
    assert 'id="import-errors"' in refused.text
    assert mask(mistyped) in refused.text
    assert FULL_ID_NUMBER.findall(refused.text) == []


def test_the_declaration_form_takes_only_a_reference_to_the_employers_own_employee(
    world: World, browser_of: Browser
) -> None:
    """A full ID number, or a reference copied from another employer's page, put in the form
    by hand names nobody: the form is refused, naming the field, and nothing is recorded."""
    with world.app.uow() as uow:
        accounts.add_user(
            uow=uow, name="employer-e002", role=Role.EMPLOYER, password=PASSWORD, scope="E002"
        )
    other_page = browser_of("employer-e002").get("/employer").text
    neighbours_ref = REF.findall(other_page)
    assert len(neighbours_ref) == 1  # E002 employs NEIGHBOUR
    client = browser_of("the-employer")
    page = client.get("/employer").text
    before = _contributions(world)

    for tampered in ([NEIGHBOUR], neighbours_ref, [OUTSIDE], [*REF.findall(page), "0" * 24]):
        answer = client.post("/employer/declarations", data=_declaration(page, tampered))
        assert answer.status_code == 422, tampered
        assert "<code>person." in answer.text
        assert FULL_ID_NUMBER.findall(answer.text) == []

    assert _contributions(world) == before
    own = client.post(
        "/employer/declarations",
        data=_declaration(page, REF.findall(page)),
        follow_redirects=False,
    )
    assert own.status_code == 303
    assert _contributions(world) == before + 1
