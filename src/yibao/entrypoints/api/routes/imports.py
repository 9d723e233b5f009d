"""Files of rows (月度申报, migrations): `POST /imports/{kind}`, the API's `yibao import`.

The file is checked whole and applied whole by the same service call as the CLI's. A refused
file answers 422 `import_refused` with each row's error; the same file again answers 200 with
`already_imported` (its content hash is the retry key, so no Idempotency-Key is needed). A clerk
may send only files whose rows all belong to its own area, an employer only rows of its own
employees: anything else is refused whole as 403, naming no row.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import UploadFile as StarletteUpload

from yibao.adapters.tabular import content_sha256, read_rows
from yibao.domain.errors import InvalidInput
from yibao.entrypoints.api.deps import Caller, CallerDep
from yibao.entrypoints.api.gate import guarded
from yibao.entrypoints.api.problems import MEDIA_TYPE, Problem
from yibao.entrypoints.api.schemas import router
from yibao.services import imports
from yibao.services.accounts import Role
from yibao.services.accounts.access import RULES, Forbidden, Scope, Target
from yibao.services.imports import ImportOutcome, ImportRefused, RowError
from yibao.services.imports.scope import areas_of_rows, outside_employer

api = router("imports")
SHOWN_ERRORS = 1_000  # row errors in a refusal's body; `refused` counts them all


def _ref(schema: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{schema}"}


# A 422 is either a refused file (its row errors) or a bad kind or file name (a plain problem).
REFUSED_OR_BAD_INPUT = {"anyOf": [_ref("ImportProblem"), _ref("Problem")]}


class ImportPublic(BaseModel):
    kind: str
    rows: int
    already_imported: bool


class RowErrorPublic(BaseModel):
    row: int
    field: str
    value: str
    reason: str


class ImportProblem(Problem):
    refused: int
    errors: list[RowErrorPublic]


@api.post(
    "/imports/{kind}",
    response_model=ImportPublic,
    responses={
        422: {
            "model": ImportProblem,
            "description": "rows refused (nothing written), or bad input naming its field",
            "content": {MEDIA_TYPE: {"schema": REFUSED_OR_BAD_INPUT}},
        }
    },
)
def import_file(kind: str, file: UploadFile, caller: CallerDep) -> ImportPublic | JSONResponse:
    """Check every row of the file (.csv or .xlsx), then apply it whole, or nothing of it."""
    errors: list[RowError] = []
    with saved_upload(file) as path:
        try:
            outcome = import_saved(caller, kind, path, file.filename or path.name, errors)
        except ImportRefused as refused:
            return _refusal(refused, errors)
    return ImportPublic(kind=kind, rows=outcome.rows, already_imported=outcome.already_imported)


def import_saved(
    caller: Caller, kind: str, path: Path, file_name: str, errors: list[RowError]
) -> ImportOutcome:
    """The import of a saved file, within the caller's scope, in one audited transaction;
    `ImportRefused` (the row errors appended to `errors`), or Forbidden, leaves nothing."""
    required = imports.required_columns(kind)  # an unknown kind: 422 naming it
    action = f"imports.{kind}"
    digest = content_sha256(path)
    target = _target(caller, action, kind, path, required)
    with guarded(caller, action, target, f"import:{kind}:{digest[:16]}") as guard:
        user = caller.user
        employer = user.scope if user.role is Role.EMPLOYER else None
        outside = Forbidden(f"{action}: rows outside what the {user.name!r} may declare")
        try:
            outcome = imports.import_rows(
                uow=guard.uow,
                kind=kind,
                rows=read_rows(path, required=required),
                content_sha256=digest,
                file_name=file_name,
                refuse=errors.append,
                employer_code=employer,
            )
        except ImportRefused as refused:
            if refused.outside_scope:
                raise outside from None
            raise
        if outcome.already_imported and employer is not None:
            rows = read_rows(path, required=required)
            if outside_employer(uow=guard.uow, rows=rows, employer_code=employer):
                raise outside
    return outcome


@contextmanager
def saved_upload(upload: StarletteUpload) -> Iterator[Path]:
    """The upload as a file of its own kind (.csv or .xlsx), read as the CLI reads one."""
    suffix = Path(upload.filename or "").suffix.lower()
    if suffix not in (".csv", ".txt", ".xlsx"):
        raise InvalidInput("file", upload.filename or "", "is neither .csv nor .xlsx")
    with tempfile.TemporaryDirectory(prefix="yibao-import-") as folder:
        path = Path(folder) / f"upload{suffix}"
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out, 1 << 20)
        yield path


def _target(
    caller: Caller, action: str, kind: str, path: Path, required: tuple[str, ...]
) -> Target:
    """What the file touches: for a clerk, every area of its rows (read before the write)."""
    if RULES[action].get(caller.user.role) is not Scope.AREA:
        return Target()
    with caller.app.uow() as uow:
        areas = areas_of_rows(uow=uow, kind=kind, rows=read_rows(path, required=required))
    return Target(areas=tuple(sorted(areas, key=lambda area: area or "")))


def _refusal(refused: ImportRefused, errors: list[RowError]) -> JSONResponse:
    body = ImportProblem(
        type=f"urn:yibao:problem:{refused.code}",
        title="Invalid input",
        status=422,
        detail=refused.message,
        code=refused.code,
        refused=refused.refused,
        errors=[
            RowErrorPublic(row=e.row, field=e.field, value=e.value, reason=e.reason)
            for e in errors[:SHOWN_ERRORS]
        ],
    )
    return JSONResponse(body.model_dump(exclude_none=True), 422, media_type=MEDIA_TYPE)
