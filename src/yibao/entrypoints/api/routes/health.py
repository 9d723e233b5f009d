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
from yibao.bootstrap import App
from yibao.entrypoints.api.deps import AppDep
from yibao.entrypoints.api.problems import PROBLEM_CONTENT, Problem, first_line, problem
from yibao.entrypoints.api.schemas import router

api = router("health")
NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "Not ready", "content": PROBLEM_CONTENT}
}


class ReplicaPublic(BaseModel):
    """The streaming replica's lag now; `serving` false means inquiries read the primary."""

    reachable: bool
    serving: bool
    lag_seconds: float | None
    lag_bytes: int | None
    max_lag_seconds: float


class HealthPublic(BaseModel):
    status: str
    database: str
    replica: ReplicaPublic | None = None  # only when YIBAO_REPLICA_URL is set


@api.get("/health")
def health(app: AppDep) -> HealthPublic:
    with app.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return HealthPublic(status="ok", database=app.engine.dialect.name, replica=_replica(app))


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


def _replica(app: App) -> ReplicaPublic | None:
    if app.replica is None:
        return None
    lag = app.replica.lag()
    return ReplicaPublic(
        reachable=lag is not None,
        serving=lag is not None and lag.within_bound,
        lag_seconds=None if lag is None else lag.seconds,
        lag_bytes=None if lag is None else lag.bytes,
        max_lag_seconds=app.replica.max_lag_seconds,
    )
