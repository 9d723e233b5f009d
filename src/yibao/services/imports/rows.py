"""A refused row, and how a domain error becomes one (row, field, value, reason)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from yibao.domain.errors import (
    InvalidInput,
    UnknownArea,
    UnknownEmployer,
    UnknownPerson,
    YibaoError,
)

SheetRow = tuple[int, dict[str, str]]  # the row's line in the file (header is 1), its cells


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str
    value: str
    reason: str
    outside_scope: bool = False  # an employer's file naming another employer's employee
    code: str = "invalid_input"  # the refusal's stable code (`YibaoError.code`)


Refuse = Callable[[RowError], None]

# the column a refusal without a field of its own is about
_FIELD_OF = {UnknownPerson: "id_number", UnknownEmployer: "employer", UnknownArea: "area"}


def row_error(number: int, cells: dict[str, str], error: YibaoError) -> RowError:
    """The report line of a refusal: its field, the value as written in the file, the reason."""
    if isinstance(error, InvalidInput):
        field = error.field.lstrip("-")
        prefix = f"{error.field}: {error.value!r} "
        reason = error.message.removeprefix(prefix)
        return RowError(number, field, cells.get(field, str(error.value)), reason, code=error.code)
    field = next((f for kind, f in _FIELD_OF.items() if isinstance(error, kind)), "")
    reason = f"[{error.code}] {error.message}"
    return RowError(number, field, cells.get(field, ""), reason, code=error.code)
