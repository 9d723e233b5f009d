"""The planning areas a file's rows touch: what a clerk, held to its own area, may import.

A row names its area itself (employers, persons) or through the records it names (an
employment's person and employer, a payment's person). A record not on file counts as an area
of its own (None), so a clerk's file is refused the same whether or not another area holds it:
a refusal never tells whether a record exists. A malformed ID number names no record; its row
is refused by the import itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from sqlalchemy import select

from yibao.adapters.tables import Employer, Employment, Person
from yibao.domain.errors import InvalidInput
from yibao.domain.idnumber import IdNumber
from yibao.services.imports.rows import SheetRow
from yibao.services.uow import UnitOfWork

CHUNK = 5_000  # rows looked up at once: memory stays bounded for a file of millions


def areas_of_rows(*, uow: UnitOfWork, kind: str, rows: Iterable[SheetRow]) -> set[str | None]:
    """Every planning area the rows of a `kind` file touch (None: a record not on file)."""
    found: set[str | None] = set()
    for chunk in _chunks(rows):
        if kind in ("employers", "persons"):
            found.update(cells.get("area", "") for _, cells in chunk)
            continue
        found |= _person_areas(uow, {_id(cells) for _, cells in chunk} - {None})
        if kind == "employment":
            found |= _employer_areas(uow, {cells.get("employer", "") for _, cells in chunk})
    return found


def _chunks(rows: Iterable[SheetRow]) -> Iterator[list[SheetRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def _id(cells: dict[str, str]) -> str | None:
    try:
        return IdNumber.parse(cells.get("id_number", "")).value
    except InvalidInput:
        return None


def _person_areas(uow: UnitOfWork, numbers: set[str | None]) -> set[str | None]:
    rows = uow.session.execute(
        select(Person.id_number, Person.area_code).where(Person.id_number.in_(numbers))
    ).all()
    areas: set[str | None] = {area for _, area in rows}
    if len(rows) < len(numbers):
        areas.add(None)
    return areas


def _employer_areas(uow: UnitOfWork, codes: set[str]) -> set[str | None]:
    rows = uow.session.execute(
        select(Employer.code, Employer.area_code).where(Employer.code.in_(codes))
    ).all()
    areas: set[str | None] = {area for _, area in rows}
    if len(rows) < len(codes):
        areas.add(None)
    return areas


def outside_employer(*, uow: UnitOfWork, rows: Iterable[SheetRow], employer_code: str) -> bool:
    """Whether a row names an employer other than `employer_code`, or a person it never
    employed (or one not on file): asked of a file already imported, whose rows the import
    no longer judges, so that a repeat tells an employer nothing of another's file."""
    for chunk in _chunks(rows):
        if any(cells.get("employer", employer_code) != employer_code for _, cells in chunk):
            return True
        numbers = {_id(cells) for _, cells in chunk}
        if None in numbers:
            return True
        employed = uow.session.scalars(
            select(Person.id_number)
            .join(Employment, Employment.person_id == Person.id)
            .join(Employer, Employer.id == Employment.employer_id)
            .where(Employer.code == employer_code, Person.id_number.in_(numbers))
            .distinct()
        ).all()
        if len(set(employed)) < len(numbers):
            return True
    return False
