"""Typed domain errors, each with a stable code that entrypoints map to exit codes or HTTP."""

from __future__ import annotations


class YibaoError(Exception):
    """Base of every refusal yibao makes; `code` is stable and machine-readable."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(YibaoError):
    """Input that is malformed: names the field, the value, and what is expected."""

    code = "invalid_input"

    def __init__(self, field: str, value: object, problem: str) -> None:
        super().__init__(f"{field}: {value!r} {problem}")
        self.field = field
        self.value = value


class NotFound(YibaoError):
    code = "not_found"


class UnknownArea(NotFound):
    code = "unknown_area"


class UnknownPerson(NotFound):
    code = "unknown_person"


class UnknownEmployer(NotFound):
    code = "unknown_employer"


class UnknownInstitution(NotFound):
    code = "unknown_institution"


class NotEnrolled(YibaoError):
    code = "not_enrolled"


class Conflict(YibaoError):
    """The request contradicts what is already recorded."""

    code = "conflict"
