"""The agency desk through its forms: finding a person by name, registering, enrolling,
recording a contribution, a card's whole life, a PIN reset at the counter and merging split
records; each with a refusal of bad input that names the field and changes nothing. On SQLite
and PostgreSQL, as a clerk of area 420100."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.e2e.api.world import AREA, INSIDE, NEIGHBOUR, OUTSIDE, World
from tests.e2e.web.conftest import csrf_of
from yibao.adapters.tables import Card, Contribution, Enrollment, Person, RecordLink
from yibao.domain.cards import WrongPin
from yibao.domain.idnumber import make_id_number
from yibao.services import cards
from yibao.services.registry import person_by_id_number, scheme_on

Browser = Callable[[str], TestClient]
TODAY = dt.date.today()


def _new_number(sequence: int) -> str:
    return make_id_number("420103", dt.date(1992, 3, 4), sequence)


def _post(client: TestClient, path: str, **fields: Any) -> Any:
    """A desk form sent with the session's CSRF token, as the page's own form sends it."""
    csrf = csrf_of(client.get("/desk").text)
    return client.post(path, data={"csrf": csrf, **fields}, follow_redirects=False)


def _refused(answer: Any, field: str) -> None:
    assert answer.status_code == 422, answer.text[:400]
    assert f"<code>{field}</code>" in answer.text


def _count(world: World, table: Any, *where: Any) -> int:
    with world.app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(table).where(*where)) or 0


def _register(client: TestClient, number: str, name: str) -> None:
    answer = _post(client, "/desk/persons", id_number=number, name=name, area=AREA)
    assert answer.status_code == 303, answer.text[:400]
    assert answer.headers["location"] == f"/desk/persons/{number}?done=registered"


def _person_id(world: World, number: str) -> int:
    with world.app.uow() as uow:
        return person_by_id_number(uow=uow, id_number=number).id


@pytest.fixture
def clerk(browser_of: Browser) -> TestClient:
    return browser_of("the-clerk")


def test_the_clerk_finds_persons_by_name_only_in_the_clerks_area(clerk: TestClient) -> None:
    found = clerk.get("/desk", params={"q": "Zhang"}).text
    assert f"/desk/persons/{INSIDE}" in found
    assert f"/desk/persons/{NEIGHBOUR}" in found
    assert f"/desk/persons/{OUTSIDE}" not in found  # also a Zhang San, in the other area
    assert f"/desk/persons/{INSIDE}" in clerk.get("/desk", params={"q": "Zhang San"}).text
    for nobody in ("San", "%", "_hang"):  # a name matches from its start; no wildcards
        page = clerk.get("/desk", params={"q": nobody}).text
        assert "/desk/persons/" not in page, nobody
        assert "没有找到。" in page


def test_the_clerk_registers_a_person_found_by_their_chinese_name_after(
    world: World, clerk: TestClient
) -> None:
    number = _new_number(1)
    _register(clerk, number, "王小明")
    record = clerk.get(f"/desk/persons/{number}?done=registered").text
    assert "王小明" in record
    assert "已完成: 已登记" in record
    assert f"/desk/persons/{number}" in clerk.get("/desk", params={"q": "王小"}).text
    before = _count(world, Person)
    bad = number[:-1] + ("0" if number[-1] != "0" else "1")  # its check character wrong
    _refused(_post(clerk, "/desk/persons", id_number=bad, name="李四", area=AREA), "id_number")
    _refused(_post(clerk, "/desk/persons", id_number=_new_number(2), name="", area=AREA), "name")
    assert _count(world, Person) == before


def test_the_clerk_enrols_a_person_as_a_resident_and_the_page_explains_it(
    world: World, clerk: TestClient
) -> None:
    number = _new_number(3)
    _register(clerk, number, "Enrolled Resident")
    path = f"/desk/persons/{number}/enrol"
    person = _person_id(world, number)

    _refused(_post(clerk, path, scheme="flexible", tier="", on="2024-01-01"), "tier")
    _refused(_post(clerk, path, scheme="resident", on="2024-13-01"), "on")
    assert _count(world, Enrollment, Enrollment.person_id == person) == 0

    enrolled = _post(clerk, path, scheme="resident", on="2024-01-01")

    assert enrolled.headers["location"] == f"/desk/persons/{number}?done=enrol"
    with world.app.uow() as uow:
        scheme = scheme_on(uow=uow, person_id=person, day=TODAY)
    assert scheme is not None
    assert str(scheme.scheme) == "resident"
    page = clerk.get(enrolled.headers["location"]).text
    assert 'data-code="no_personal_account_resident"' in page


def test_the_clerk_records_a_contribution_once_and_it_shows_in_the_payment_records(
    world: World, clerk: TestClient
) -> None:
    path = f"/desk/persons/{NEIGHBOUR}/contribution"
    person = _person_id(world, NEIGHBOUR)
    paid = {"month": "2024-03", "insurances": ["medical", "pension"], "on": "2024-03-15"}
    before = _count(world, Contribution, Contribution.person_id == person)

    _refused(_post(clerk, path, **paid, base="8k", ref="DESK-1"), "base")
    _refused(_post(clerk, path, **{**paid, "month": "2024-3x"}, base="8000", ref="DESK-1"), "month")
    assert _count(world, Contribution, Contribution.person_id == person) == before

    first = _post(clerk, path, **paid, base="8000.00", ref="DESK-1")
    again = _post(clerk, path, **paid, base="8000.00", ref="DESK-1")

    assert (first.status_code, again.status_code) == (303, 303)
    assert _count(world, Contribution, Contribution.person_id == person) == before + 1
    page = clerk.get(first.headers["location"]).text
    assert '<tr data-month="2024-03">' in page


def test_the_clerk_takes_a_card_through_its_life_refusing_bad_input_on_the_way(
    world: World, clerk: TestClient
) -> None:
    number = _new_number(4)
    _register(clerk, number, "Card Holder")
    path = f"/desk/persons/{number}"
    person = _person_id(world, number)

    _refused(_post(clerk, f"{path}/card-issue", card_no="D-1!"), "card")
    assert _count(world, Card, Card.person_id == person) == 0
    assert _post(clerk, f"{path}/card-issue", card_no="D1001").status_code == 303
    assert "D1001: 已制卡，未激活" in clerk.get(path).text

    _refused(_post(clerk, f"{path}/card-activate", pin="12ab"), "pin")
    assert _card_states(world, person) == {"D1001": "issued"}
    assert _post(clerk, f"{path}/card-activate", pin="654321").status_code == 303
    assert "D1001: 正常" in clerk.get(path).text

    assert _post(clerk, f"{path}/card-loss").status_code == 303
    assert "D1001: 已挂失" in clerk.get(path).text

    _refused(_post(clerk, f"{path}/card-replace", card_no=""), "card")
    assert _card_states(world, person) == {"D1001": "lost"}
    assert _post(clerk, f"{path}/card-replace", card_no="D1002").status_code == 303
    assert _card_states(world, person) == {"D1001": "replaced", "D1002": "active"}
    assert "D1002: 正常" in clerk.get(path).text


def test_the_clerk_resets_a_forgotten_pin_at_the_counter(world: World, clerk: TestClient) -> None:
    number = _new_number(5)
    _register(clerk, number, "Forgot Pin")
    path = f"/desk/persons/{number}"
    _post(clerk, f"{path}/card-issue", card_no="D2001")
    _post(clerk, f"{path}/card-activate", pin="654321")

    for bad in ("", "12345", "abcdef"):
        _refused(_post(clerk, f"{path}/pin-reset", new_pin=bad), "new_pin")
    _check_pin(world, "D2001", "654321")  # unchanged
    reset = _post(clerk, f"{path}/pin-reset", new_pin="246810")

    assert reset.headers["location"] == f"{path}?done=pin-reset"
    _check_pin(world, "D2001", "246810")
    with pytest.raises(WrongPin):
        _check_pin(world, "D2001", "654321")
    assert "246810" not in clerk.get(reset.headers["location"]).text


def test_the_clerk_merges_a_split_record_into_the_one_that_stays(
    world: World, clerk: TestClient
) -> None:
    """The same human registered twice: the second record's enrolment moves to the first."""
    kept, split = _new_number(6), _new_number(7)
    _register(clerk, kept, "Split Record")
    _register(clerk, split, "Split Record")
    _post(clerk, f"/desk/persons/{split}/enrol", scheme="resident", on="2024-01-01")
    path = f"/desk/persons/{kept}/merge"

    _refused(_post(clerk, path, other=kept), "other")  # itself
    _refused(_post(clerk, path, other="4201031992"), "other")
    assert _count(world, RecordLink) == 0

    merged = _post(clerk, path, other=split)

    assert merged.headers["location"] == f"/desk/persons/{kept}?done=merge"
    assert "已完成: 合并记录" in clerk.get(merged.headers["location"]).text
    kept_id, split_id = _person_id(world, kept), _person_id(world, split)
    with world.app.uow() as uow:
        assert scheme_on(uow=uow, person_id=split_id, day=TODAY) is None
        moved = scheme_on(uow=uow, person_id=kept_id, day=TODAY)
        link = uow.session.scalars(select(RecordLink)).one()
    assert moved is not None
    assert str(moved.scheme) == "resident"
    assert link.merged_on is not None


def _card_states(world: World, person_id: int) -> dict[str, str]:
    with world.app.uow() as uow:
        rows = uow.session.scalars(select(Card).where(Card.person_id == person_id)).all()
        return {row.card_no: row.status for row in rows}


def _check_pin(world: World, card_no: str, pin: str) -> None:
    cards.check_pin(uow_factory=world.app.uow, card_no=card_no, pin=pin, on=TODAY)


def test_an_unknown_desk_action_is_refused_naming_it(clerk: TestClient) -> None:
    answer = _post(clerk, f"/desk/persons/{INSIDE}/card-destroy")
    _refused(answer, "action")
    assert re.search(r"card-destroy", answer.text)
