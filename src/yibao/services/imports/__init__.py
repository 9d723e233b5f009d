"""Bulk declarations (月度申报) and migrations: a file of rows checked whole, applied whole.

Every row is checked first, through the same rules the single-row commands apply; each refusal
is reported (row, field, value, reason) and then nothing is written: the caller's unit of work
rolls back on `ImportRefused`. A file applied once is recorded by its content hash, so the same
file applied again is a no-op reported as such.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select

from yibao.adapters.tables import ImportBatch
from yibao.domain.errors import YibaoError
from yibao.services.imports.rows import Refuse, RowError, SheetRow
from yibao.services.uow import UnitOfWork

KINDS = ("employers", "persons", "employment", "contributions")

__all__ = [
    "KINDS",
    "ImportOutcome",
    "ImportRefused",
    "RowError",
    "import_rows",
    "required_columns",
]


class ImportRefused(YibaoError):
    """Rows of the file were refused; nothing of it was written."""

    code = "import_refused"

    def __init__(self, refused: int, outside_scope: int) -> None:
        super().__init__(f"{refused} row error(s); nothing of the file was written")
        self.refused = refused
        self.outside_scope = outside_scope


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    kind: str
    rows: int
    already_imported: bool


class _Counted:
    def __init__(self, refuse: Refuse) -> None:
        self.refuse, self.count, self.outside_scope = refuse, 0, 0

    def __call__(self, error: RowError) -> None:
        self.count += 1
        self.outside_scope += error.outside_scope
        self.refuse(error)


def required_columns(kind: str) -> tuple[str, ...]:
    return _importer(kind)[0]


def import_rows(
    *,
    uow: UnitOfWork,
    kind: str,
    rows: Iterable[SheetRow],
    content_sha256: str,
    file_name: str,
    refuse: Callable[[RowError], None],
    employer_code: str | None = None,
) -> ImportOutcome:
    """Check and apply the rows of one file, all or nothing (`ImportRefused` if any is bad).

    With `employer_code`, the file is an employer's own declaration: a row for a person who is
    not its employee is refused as outside its scope.
    """
    _, apply = _importer(kind)
    done = uow.session.scalars(
        select(ImportBatch).where(
            ImportBatch.kind == kind, ImportBatch.content_sha256 == content_sha256
        )
    ).one_or_none()
    if done is not None:
        return ImportOutcome(kind=kind, rows=done.rows, already_imported=True)
    counted = _Counted(refuse)
    count = apply(uow, rows, counted, employer_code)
    if counted.count:
        raise ImportRefused(counted.count, counted.outside_scope)
    uow.session.add(
        ImportBatch(
            kind=kind,
            content_sha256=content_sha256,
            file_name=file_name[-200:],
            rows=count,
            applied=count,
        )
    )
    uow.session.flush()
    return ImportOutcome(kind=kind, rows=count, already_imported=False)


def _importer(kind: str) -> tuple[tuple[str, ...], Importer]:
    from yibao.services.imports import contribution_rows, registry_rows

    found: dict[str, tuple[tuple[str, ...], Importer]] = {
        "employers": (registry_rows.EMPLOYER_COLUMNS, registry_rows.import_employers),
        "persons": (registry_rows.PERSON_COLUMNS, registry_rows.import_persons),
        "employment": (registry_rows.EMPLOYMENT_COLUMNS, registry_rows.import_employment),
        "contributions": (contribution_rows.REQUIRED, contribution_rows.import_contributions),
    }
    if kind not in found:
        from yibao.domain.errors import InvalidInput

        raise InvalidInput("kind", kind, f"is not one of {', '.join(KINDS)}")
    return found[kind]


Importer = Callable[[UnitOfWork, Iterable[SheetRow], Refuse, "str | None"], int]
