"""The audit trail: every read and write of a person's data, and every refusal, in one place.

Entries are appended, never changed (on PostgreSQL the database refuses it), and hash-chained
(domain.audit), so `verify` names the first entry changed, removed or reordered behind the
application's back. How appends stay cheap under many concurrent writers: `appending`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from yibao.domain.audit import OK, Actor, AuditBreak, AuditEntry, AuditEvent, BreakKind
from yibao.services.audit.appending import append
from yibao.services.audit.reading import entries, verify
from yibao.services.uow import UnitOfWork

__all__ = [
    "OK",
    "Actor",
    "AuditBreak",
    "AuditEntry",
    "AuditEvent",
    "BreakKind",
    "entries",
    "record",
    "record_in_own_transaction",
    "verify",
]


def record(*, uow: UnitOfWork, event: AuditEvent) -> None:
    """Append the entry in the caller's transaction: it stands or falls with what it records.

    Call it last in the transaction, so the chain head it takes is held only to the commit.
    """
    append(uow, event, dt.datetime.now())


def record_in_own_transaction(*, uow_factory: Callable[[], UnitOfWork], event: AuditEvent) -> None:
    """Append the entry in a transaction of its own: for a call refused or failed, whose own
    transaction rolled back and took nothing with it."""
    with uow_factory() as uow:
        record(uow=uow, event=event)
