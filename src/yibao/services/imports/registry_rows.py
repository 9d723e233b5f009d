"""Employers, persons and employment from a file: each row through the registry's own service
call, under a savepoint, so a refused row is reported and the next one still checked.

These files are the registry's (a migration's persons, a month's new hires): each row goes through
the single-row command's service function, so no rule is written twice.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

from yibao.domain.errors import InvalidInput, YibaoError
from yibao.domain.idnumber import IdNumber
from yibao.domain.months import parse_date
from yibao.services import registry
from yibao.services.imports.rows import Refuse, RowError, SheetRow, row_error
from yibao.services.uow import UnitOfWork

EMPLOYER_COLUMNS = ("code", "name", "area")
PERSON_COLUMNS = ("id_number", "name", "area")
EMPLOYMENT_COLUMNS = ("id_number", "employer", "hired_on")

Cells = dict[str, str]


def import_employers(
    uow: UnitOfWork, rows: Iterable[SheetRow], refuse: Refuse, employer_code: str | None
) -> int:
    """code, name, area[, registered_on]: `employer add` (and `employer register`)."""

    def apply(cells: Cells) -> None:
        registry.add_employer(
            uow=uow, code=cells["code"], name=cells["name"], area_code=cells["area"]
        )
        if cells.get("registered_on"):
            day = parse_date(cells["registered_on"], field="registered_on")
            registry.register_employer(uow=uow, code=cells["code"], on=day)

    return _row_by_row(uow, rows, refuse, apply, key=lambda cells: ("code", cells["code"]))


def import_persons(
    uow: UnitOfWork, rows: Iterable[SheetRow], refuse: Refuse, employer_code: str | None
) -> int:
    """id_number, name, area: `person add`."""

    def apply(cells: Cells) -> None:
        registry.add_person(
            uow=uow, id_number=cells["id_number"], name=cells["name"], area_code=cells["area"]
        )

    return _row_by_row(uow, rows, refuse, apply, key=_person_key)


def import_employment(
    uow: UnitOfWork, rows: Iterable[SheetRow], refuse: Refuse, employer_code: str | None
) -> int:
    """id_number, employer, hired_on[, registered_on, left_on, pooled_only]: `person hire`,
    `person register` and `person leave`, in that order."""

    def apply(cells: Cells) -> None:
        id_number, employer = cells["id_number"], cells["employer"]
        hired = parse_date(cells["hired_on"], field="hired_on")
        registry.hire(uow=uow, id_number=id_number, employer_code=employer, on=hired)
        if cells.get("registered_on"):
            registry.register_employee(
                uow=uow,
                id_number=id_number,
                employer_code=employer,
                on=parse_date(cells["registered_on"], field="registered_on"),
                pooled_only=_yes(cells.get("pooled_only", "")),
            )
        if cells.get("left_on"):
            left = parse_date(cells["left_on"], field="left_on")
            registry.leave(uow=uow, id_number=id_number, employer_code=employer, on=left)

    def key(cells: Cells) -> Hashable:
        if employer_code is not None and cells["employer"] != employer_code:
            raise _OutsideScope(employer_code)
        return (*_person_key(cells), cells["employer"])

    return _row_by_row(uow, rows, refuse, apply, key=key)


class _OutsideScope(Exception):
    def __init__(self, employer_code: str) -> None:
        self.employer_code = employer_code


def _person_key(cells: Cells) -> tuple[str, str]:
    return ("id_number", IdNumber.parse(cells["id_number"]).value)


def _yes(text: str) -> bool:
    if text.strip().lower() in ("", "0", "no", "false", "否"):
        return False
    if text.strip().lower() in ("1", "yes", "true", "是"):
        return True
    raise InvalidInput("pooled_only", text, "is not yes or no")


def _row_by_row(
    uow: UnitOfWork,
    rows: Iterable[SheetRow],
    refuse: Refuse,
    apply: Callable[[Cells], None],
    *,
    key: Callable[[Cells], Hashable],
) -> int:
    """Apply each row under a savepoint; a row repeating an earlier one of the file is refused
    (the service would take it as a harmless retry, but in one file it is a mistake)."""
    seen: dict[Hashable, int] = {}
    count = 0
    for number, cells in rows:
        count += 1
        try:
            found = key(cells)
            if found in seen:
                field = str(found[0]) if isinstance(found, tuple) else ""
                refuse(RowError(number, field, cells.get(field, ""), f"repeats row {seen[found]}"))
                continue
            seen[found] = number
            with uow.session.begin_nested():
                apply(cells)
        except _OutsideScope as outside:
            refuse(
                RowError(
                    number,
                    "employer",
                    cells.get("employer", ""),
                    f"is not {outside.employer_code}: an employer declares its own employees only",
                    outside_scope=True,
                    code="outside_scope",
                )
            )
        except YibaoError as error:
            refuse(row_error(number, cells, error))
    return count
