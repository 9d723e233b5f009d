"""Health: the process answers and its database is reachable. No login."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import text

from yibao.bootstrap import App
from yibao.entrypoints.api.deps import AppDep
from yibao.entrypoints.api.schemas import router

api = router("health")


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
