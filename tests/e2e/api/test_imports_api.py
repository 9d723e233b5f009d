"""`POST /api/v1/imports/{kind}`: a file checked whole, applied whole, within the caller's scope."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select

from tests.e2e.api.world import AREA, INSIDE, NEIGHBOUR, OTHER_AREA, World
from yibao.adapters.tables import AuditEntry, Contribution, Person
from yibao.domain.idnumber import make_id_number
from yibao.services.accounts import Role


def _send(world: World, role: Role, kind: str, name: str, content: bytes) -> Any:
    return world.client.post(
        f"/api/v1/imports/{kind}",
        files={"file": (name, content, "application/octet-stream")},
        headers=world.headers(role),
    )


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _count(world: World, what: Any) -> int:
    with world.app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(what)) or 0)


def test_a_declaration_is_applied_once_and_audited(world: World) -> None:
    before = _count(world, Contribution)
    declaration = _csv(
        "id_number,month,insurances,base",
        f"{INSIDE},2024-04,medical,8000",
        f"{NEIGHBOUR},2024-04,medical,8000",
    )
    first = _send(world, Role.ADMIN, "contributions", "april.csv", declaration)
    assert first.status_code == 200, first.text
    assert first.json() == {"kind": "contributions", "rows": 2, "already_imported": False}
    assert _count(world, Contribution) == before + 2
    again = _send(world, Role.ADMIN, "contributions", "april-again.csv", declaration)
    assert again.status_code == 200
    assert again.json() == {"kind": "contributions", "rows": 2, "already_imported": True}
    assert _count(world, Contribution) == before + 2
    with world.app.uow() as uow:
        actions = uow.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "imports.contributions")
        ).all()
    assert len(actions) == 2


def test_a_refused_file_lists_its_row_errors_and_writes_nothing(world: World) -> None:
    before = _count(world, Contribution)
    answer = _send(
        world,
        Role.ADMIN,
        "contributions",
        "may.csv",
        _csv(
            "id_number,month,insurances,base",
            f"{INSIDE},2024-05,medical,8000",
            f"{NEIGHBOUR},2024-05,medical,80.001",
        ),
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["code"] == "import_refused"
    assert body["refused"] == 1
    [error] = body["errors"]
    assert (error["row"], error["field"], error["value"]) == (3, "base", "80.001")
    assert _count(world, Contribution) == before


def test_an_employer_declares_only_its_own_employees(world: World) -> None:
    before = _count(world, Contribution)
    mine = _csv("id_number,month,insurances,base", f"{INSIDE},2024-06,medical,8000")
    theirs = _csv(
        "id_number,month,insurances,base",
        f"{INSIDE},2024-07,medical,8000",
        f"{NEIGHBOUR},2024-07,medical,8000",  # an employee of E002, not of E001
    )
    refused = _send(world, Role.EMPLOYER, "contributions", "july.csv", theirs)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "forbidden"
    assert NEIGHBOUR not in refused.text
    assert _count(world, Contribution) == before
    accepted = _send(world, Role.EMPLOYER, "contributions", "june.csv", mine)
    assert accepted.status_code == 200, accepted.text
    assert _count(world, Contribution) == before + 1


def test_a_clerk_imports_only_files_of_its_own_area(world: World) -> None:
    ours = make_id_number("420102", dt.date(1991, 1, 1), 21)
    theirs = make_id_number("310101", dt.date(1992, 2, 2), 22)
    mixed = _csv("id_number,name,area", f"{ours},Li Si,{AREA}", f"{theirs},Wang Wu,{OTHER_AREA}")
    refused = _send(world, Role.CLERK, "persons", "mixed.csv", mixed)
    assert refused.status_code == 403, refused.text
    with world.app.uow() as uow:
        assert uow.session.scalar(select(Person).where(Person.id_number == ours)) is None
    own = _csv("id_number,name,area", f"{ours},Li Si,{AREA}")
    accepted = _send(world, Role.CLERK, "persons", "ours.csv", own)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["rows"] == 1


def test_an_xlsx_file_is_read_as_a_csv_is(world: World) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id_number", "month", "insurances", "base"])
    sheet.append([INSIDE, "2024-08", "medical", 8000])
    buffer = io.BytesIO()
    book.save(buffer)
    answer = _send(world, Role.ADMIN, "contributions", "august.xlsx", buffer.getvalue())
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == 1


def test_a_file_neither_csv_nor_xlsx_or_an_unknown_kind_is_refused(world: World) -> None:
    odd = _send(world, Role.ADMIN, "contributions", "rows.pdf", b"%PDF")
    assert odd.status_code == 422
    assert odd.json()["field"] == "file"
    unknown = _send(world, Role.ADMIN, "salaries", "rows.csv", _csv("a", "b"))
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "kind"


def test_a_repeat_tells_an_employer_nothing_of_a_file_it_may_not_send(world: World) -> None:
    agency_file = _csv(
        "id_number,month,insurances,base",
        f"{INSIDE},2024-09,medical,8000",
        f"{NEIGHBOUR},2024-09,medical,8000",
    )
    assert _send(world, Role.ADMIN, "contributions", "sept.csv", agency_file).status_code == 200
    repeat = _send(world, Role.EMPLOYER, "contributions", "sept.csv", agency_file)
    assert repeat.status_code == 403, repeat.text
    assert "already_imported" not in repeat.text
