"""The audit trail, for auditors: who read or changed whose data, when, how, with what outcome."""

from __future__ import annotations

import datetime as dt

from fastapi import Query
from pydantic import BaseModel

from yibao.entrypoints.api.deps import CallerDep
from yibao.entrypoints.api.gate import guarded
from yibao.entrypoints.api.schemas import router, utc
from yibao.services import audit
from yibao.services.accounts.access import Target

api = router("audit")


class AuditEntryPublic(BaseModel):
    id: int
    recorded_at: dt.datetime | None
    user: str
    role: str
    action: str
    channel: str
    person: str | None  # masked
    resource: str
    outcome: str


@api.get("/audit")
def entries(
    caller: CallerDep,
    person: str | None = Query(None, description="ID number"),
    user: str | None = None,
    day: dt.date | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[AuditEntryPublic]:
    """The newest entries first, about one person, one user or one day."""
    with guarded(caller, "audit.read", Target(), "audit") as guard:
        found = audit.entries(uow=guard.uow, person=person, user=user, day=day, limit=limit)
    return [
        AuditEntryPublic(
            id=entry.id,
            recorded_at=utc(entry.recorded_at),
            user=entry.event.actor.user,
            role=entry.event.actor.role,
            action=entry.event.action,
            channel=entry.event.channel,
            person=entry.masked_person,
            resource=entry.event.resource,
            outcome=entry.event.outcome,
        )
        for entry in found
    ]
