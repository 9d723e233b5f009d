"""Reading the audit trail: entries for an auditor, and the verification of every chain."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import select

from yibao.adapters.tables import AuditChain
from yibao.adapters.tables import AuditEntry as EntryRow
from yibao.domain.audit import Actor, AuditBreak, AuditEntry, AuditEvent, ChainHead, find_break
from yibao.services.uow import UnitOfWork

_BATCH = 5_000


def verify(*, uow: UnitOfWork) -> AuditBreak | None:
    """The first entry (lowest id) changed, removed or reordered in any chain; None if sound."""
    heads = {
        int(chain): ChainHead(int(chain), int(seq), str(head))
        for chain, seq, head in uow.session.execute(
            select(AuditChain.chain, AuditChain.seq, AuditChain.head)
        )
    }
    breaks: list[AuditBreak] = []
    seen: set[int] = set()
    for chain, group in itertools.groupby(_in_chain_order(uow), key=lambda entry: entry.chain):
        seen.add(chain)
        found = find_break(heads.get(chain), chain, group, _held(uow, chain))
        if found is not None:
            breaks.append(found)
    for chain in heads.keys() - seen:
        found = find_break(heads[chain], chain, (), _held(uow, chain))
        if found is not None:
            breaks.append(found)
    if not breaks:
        return None
    return min(breaks, key=lambda b: (b.entry_id is None, b.entry_id or 0, b.chain))


def _held(uow: UnitOfWork, chain: int) -> Callable[[int], bool]:
    def held(seq: int) -> bool:
        found = uow.session.scalar(
            select(EntryRow.id).where(EntryRow.chain == chain, EntryRow.seq == seq).limit(1)
        )
        return found is not None

    return held


def entries(
    *,
    uow: UnitOfWork,
    person: str | None = None,
    user: str | None = None,
    day: dt.date | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """The newest entries first, about one person (an ID number), one user, or one day."""
    query = select(EntryRow).order_by(EntryRow.id.desc()).limit(limit)
    if person is not None:
        query = query.where(EntryRow.person == person.strip().upper())
    if user is not None:
        query = query.where(EntryRow.actor_user == user)
    if day is not None:
        start = dt.datetime.combine(day, dt.time())
        query = query.where(
            EntryRow.recorded_at >= start, EntryRow.recorded_at < start + dt.timedelta(days=1)
        )
    return [_entry(row) for row in uow.session.scalars(query)]


def _in_chain_order(uow: UnitOfWork) -> Iterator[AuditEntry]:
    """Every entry, chain by chain, each chain in the order its entries were appended (id)."""
    rows = uow.session.execute(
        select(EntryRow).order_by(EntryRow.chain, EntryRow.id).execution_options(yield_per=_BATCH)
    ).scalars()
    for row in rows:
        yield _entry(row)


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        id=int(row.id),
        chain=int(row.chain),
        seq=int(row.seq),
        recorded_at=row.recorded_at,
        event=AuditEvent(
            Actor(row.actor_user, row.actor_role),
            row.action,
            row.channel,
            row.person,
            row.resource,
            row.outcome,
        ),
        hash=row.hash,
    )
