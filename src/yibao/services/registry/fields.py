"""Codes, names and refs as the registry stores them: never empty, never longer than their column.

The limits are read from the table definitions, so PostgreSQL (which enforces VARCHAR lengths)
and SQLite (which does not) refuse the same input, before anything is written.
"""

from __future__ import annotations

from typing import Any

from yibao.adapters.tables import Settlement
from yibao.domain.errors import InvalidInput

KEY_SEPARATOR = ":"  # joins the parts of posting keys: "settle:P001:R1", "deposit:D7"


_LENGTHS: dict[int, int] = {}  # by the mapped column's identity: read on every POS sale


def column_length(column: Any) -> int:
    """The VARCHAR length of a mapped column such as `Employer.code`."""
    found = _LENGTHS.get(id(column))
    if found is None:
        found = column.type.length
        assert isinstance(found, int), f"{column} has no length"
        _LENGTHS[id(column)] = found
    return found


def text(value: object, *, field: str, column: Any) -> str:
    """A name or other free text: present, not blank, and short enough for `column`."""
    written = "" if value is None else str(value)
    if not written.strip():
        raise InvalidInput(field, value, "is empty")
    limit = column_length(column)
    if len(written) > limit:
        raise InvalidInput(field, _shortened(written), f"is longer than {limit} characters")
    return written


def code(value: object, *, field: str, column: Any) -> str:
    """A code that becomes part of a posting key: as `text`, and without the key separator."""
    written = text(value, field=field, column=column)
    if KEY_SEPARATOR in written:
        raise InvalidInput(field, written, f"must not contain {KEY_SEPARATOR!r}")
    return written


def ref(value: object, *, field: str = "ref", column: Any = Settlement.ref) -> str:
    """A caller's reference (idempotency key part): a code as long as a settlement's ref."""
    return code(value, field=field, column=column)


def _shortened(written: str) -> str:
    """A long value named in an error message: enough to recognise it, not the whole of it."""
    return written if len(written) <= 60 else f"{written[:40]}... ({len(written)} characters)"
