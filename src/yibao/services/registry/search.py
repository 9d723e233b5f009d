"""Finding a person at the agency desk by ID number or by name, within the clerk's area."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from yibao.adapters.tables import Person
from yibao.domain.errors import InvalidInput
from yibao.domain.idnumber import mask
from yibao.services.uow import UnitOfWork

MAX_FOUND = 50


@dataclass(frozen=True, slots=True)
class FoundPerson:
    id_number: str
    masked: str
    name: str
    area: str


def find_persons(*, uow: UnitOfWork, text: str, area_code: str | None) -> list[FoundPerson]:
    """A whole ID number finds its holder; anything else is a name, matched from its start."""
    wanted = text.strip()
    if not wanted:
        raise InvalidInput("q", text, "give an ID number or a name")
    query = select(Person)
    if len(wanted) == 18 and wanted[:17].isdigit():
        query = query.where(Person.id_number == wanted.upper())
    else:
        escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Person.name.like(f"{escaped}%", escape="\\"))
    if area_code is not None:
        query = query.where(Person.area_code == area_code)
    rows = uow.session.scalars(query.order_by(Person.name, Person.id).limit(MAX_FOUND)).all()
    return [
        FoundPerson(row.id_number, mask(row.id_number), row.name, row.area_code) for row in rows
    ]
