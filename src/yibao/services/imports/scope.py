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
from typing import Any

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
        numbers = {_id(cells) for _, cells in chunk} - {None}
        found |= _areas(uow, Person.id_number, Person.area_code, numbers)
        if kind == "employment":
            codes = {cells.get("employer", "") for _, cells in chunk}
            found |= _areas(uow, Employer.code, Employer.area_code, codes)
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


def _areas(uow: UnitOfWork, key: Any, area: Any, keys: set[Any]) -> set[str | None]:
    """The areas of the records whose `key` is in `keys`; None among them if one is not on file."""
    rows = uow.session.execute(select(key, area).where(key.in_(keys))).all()
    areas: set[str | None] = {found for _, found in rows}
    if len(rows) < len(keys):
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
