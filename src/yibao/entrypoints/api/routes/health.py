"""Health and readiness, for load balancers and orchestrators. No login.

`/health` (liveness): the process answers and its database is reachable. `/ready`
(readiness): the database is reachable and its schema stands at the migrations' head, so a
server started before `yibao db upgrade` finished takes no traffic; otherwise 503 as
problem+json, saying why.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from yibao.adapters.db import schema_behind
from yibao.entrypoints.api.deps import AppDep
from yibao.entrypoints.api.problems import PROBLEM_CONTENT, Problem, first_line, problem
from yibao.entrypoints.api.schemas import router

api = router("health")
NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "Not ready", "content": PROBLEM_CONTENT}
}


class HealthPublic(BaseModel):
    status: str
    database: str


@api.get("/health")
def health(app: AppDep) -> HealthPublic:
    with app.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return HealthPublic(status="ok", database=app.engine.dialect.name)


@api.get("/ready", response_model=HealthPublic, responses=NOT_READY)
def ready(app: AppDep) -> HealthPublic | JSONResponse:
    """Ready to serve: the database answers and its schema is at the migrations' head."""
    try:
        behind = schema_behind(app.engine)
    except DBAPIError as error:
        return problem(503, "not_ready", f"the database cannot be reached: {first_line(error)}")
    if behind is not None:
        return problem(503, "not_ready", f"{behind}: run `yibao db upgrade`")
    return HealthPublic(status="ready", database=app.engine.dialect.name)
