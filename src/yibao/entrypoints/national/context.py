"""What every transaction handler gets: the app, the caller, the envelope, the clock, and
(for a handler whose writes share the msgid's claim) the unit of work of that claim."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from yibao.bootstrap import App
from yibao.entrypoints.national.envelope import Envelope
from yibao.services.audit import Actor, AuditEvent
from yibao.services.national.gateway import Caller
from yibao.services.national.people import Secrets
from yibao.services.uow import UnitOfWork

CHANNEL = "national"


@dataclass(frozen=True, slots=True)
class Context:
    app: App
    keys: Secrets
    caller: Caller
    envelope: Envelope
    now: dt.datetime

    @property
    def today(self) -> dt.date:
        return self.app.today()

    def event(self, action: str, person: str | None, resource: str) -> AuditEvent:
        return AuditEvent(
            actor=Actor(user=f"{self.caller.code}/{self.envelope.opter}"[:60], role="institution"),
            action=f"national.{action}",
            channel=CHANNEL,
            person=person,
            resource=resource,
        )


Output = dict[str, Any]
InClaim = Callable[[Context, UnitOfWork, Mapping[str, Any]], Output]  # writes with the claim
OnItsOwn = Callable[[Context, Mapping[str, Any]], Output]  # commits by itself (a settlement)
