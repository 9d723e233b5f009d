"""Health: the process answers and its database is reachable. No login."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import text

from yibao.entrypoints.api.deps import AppDep
from yibao.entrypoints.api.schemas import router

api = router("health")


class HealthPublic(BaseModel):
    status: str
    database: str


@api.get("/health")
def health(app: AppDep) -> HealthPublic:
    with app.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return HealthPublic(status="ok", database=app.engine.dialect.name)
