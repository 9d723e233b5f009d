"""Every error the API answers, as application/problem+json (RFC 9457), mapped in one place.

The `code` is the domain error's stable code, the same the CLI prints and the scenarios expect;
the HTTP status follows the CLI's split: bad input 422 (naming the field), what the request
names does not exist 404, a refusal of a well-formed request 409, with the access refusals
(401, 403, 429) beside them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException

from yibao.domain.cards import UnknownCard
from yibao.domain.errors import InvalidInput, NotFound, YibaoError
from yibao.ledger.errors import UnknownTransfer
from yibao.services.accounts.access import Forbidden
from yibao.services.accounts.tokens import BadCredentials, InvalidToken, TooManyLogins
from yibao.services.settlement import UnknownRef

MEDIA_TYPE = "application/problem+json"

# first match wins: the most specific classes first; any other YibaoError is a refusal (409)
STATUS_OF_ERROR: tuple[tuple[type[YibaoError] | tuple[type[YibaoError], ...], int], ...] = (
    ((BadCredentials, InvalidToken), 401),
    (Forbidden, 403),
    (TooManyLogins, 429),
    ((NotFound, UnknownCard, UnknownRef, UnknownTransfer), 404),
    (InvalidInput, 422),
)
REFUSED = 409
TITLES = {
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Refused",
    422: "Invalid input",
    429: "Too many attempts",
    503: "Unavailable",
}


class Problem(BaseModel):
    """RFC 9457 problem details, with yibao's stable `code` (and `field` for bad input)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None


def status_of(error: YibaoError) -> int:
    for classes, status in STATUS_OF_ERROR:
        if isinstance(error, classes):
            return status
    return REFUSED


def problem(status: int, code: str, detail: str, field: str | None = None) -> JSONResponse:
    body = Problem(
        type=f"urn:yibao:problem:{code}",
        title=TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        code=code,
        field=field,
    )
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        body.model_dump(exclude_none=True), status, headers=headers, media_type=MEDIA_TYPE
    )


def problem_of(error: YibaoError) -> JSONResponse:
    field = error.field if isinstance(error, InvalidInput) else None
    return problem(status_of(error), error.code, error.message, field)


# What the OpenAPI document lists for every operation beside its own answer.
PROBLEM_CONTENT = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": TITLES[status], "content": PROBLEM_CONTENT}
    for status in (401, 403, 404, 409, 422, 429)
}


def install(api: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @api.exception_handler(YibaoError)
    async def _domain(_: Request, error: YibaoError) -> JSONResponse:
        return problem_of(error)

    @api.exception_handler(RequestValidationError)
    async def _validation(_: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        location = [str(part) for part in first.get("loc", ()) if part not in ("body",)]
        field = ".".join(location) or "request"
        return problem(422, "invalid_input", f"{field}: {first.get('msg', 'is invalid')}", field)

    @api.exception_handler(HTTPException)
    async def _http(_: Request, error: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "error")
        return problem(error.status_code, code, str(error.detail))

    @api.exception_handler(DataError)
    async def _data(_: Request, error: DataError) -> JSONResponse:
        return problem(422, "invalid_input", first_line(error))

    @api.exception_handler(OverflowError)
    async def _overflow(_: Request, error: OverflowError) -> JSONResponse:
        return problem(422, "invalid_input", str(error) or "a number is too large")

    @api.exception_handler(DBAPIError)
    async def _storage(_: Request, error: DBAPIError) -> JSONResponse:
        return problem(503, "storage", first_line(error))


def first_line(error: DBAPIError) -> str:
    """The driver's first line: what went wrong, without the SQL and parameters after it."""
    text = str(error.orig or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
