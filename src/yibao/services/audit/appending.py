"""Appending to the audit trail without making concurrent writers queue on one chain head.

An append takes the head of one of `CHAINS` chains, moves it on by one entry and writes the
entry, in one statement on PostgreSQL. Which chain: any whose head no other transaction holds
(`FOR UPDATE SKIP LOCKED`), so 32 POS clients appending at once rarely wait for each other, and
a head is held only from the append to the end of its transaction (the append comes last in a
sale; on the POS path each statement commits on its own, so it is held for that statement
alone). Only when every head is held does an append wait, for a random one. A transaction that
appends twice keeps to the chain it took first: it never waits while holding a head, so two
appenders cannot deadlock. SQLite has one writer at a time; there the same steps run from Python.
Within a chain, entries get their ids in the order they take the head, which is what lets
`verify` tell a reordered entry from a sound one. The chain is picked once, in a materialized
CTE: were the pick part of the UPDATE's condition, PostgreSQL's recheck of a row updated
meanwhile (EvalPlanQual) could pick again, another chain, and update nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import insert, select, text, update

from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import AuditChain
from yibao.adapters.tables import AuditEntry as EntryRow
from yibao.domain.audit import CHAINS, SEPARATOR, AuditEvent, content, next_hash
from yibao.services.uow import UnitOfWork

_CHAIN_TAKEN = "audit_chain"  # Session.info key: the chain this transaction holds

_APPEND = HotStatement(
    text(
        """
WITH pick AS MATERIALIZED (
    SELECT COALESCE(
           CAST(:chain AS integer),
           (SELECT f.chain FROM audit_chain AS f ORDER BY random() LIMIT 1
               FOR UPDATE SKIP LOCKED),
           (SELECT w.chain FROM audit_chain AS w ORDER BY random() LIMIT 1)) AS chain
), taken AS (
    UPDATE audit_chain AS c
       SET seq = c.seq + 1,
           head = encode(sha256(decode(c.head, 'hex')
                  || convert_to(CAST(c.seq + 1 AS text) || :separator || :content, 'UTF8')), 'hex')
      FROM pick
     WHERE c.chain = pick.chain
 RETURNING c.chain, c.seq, c.head
)
INSERT INTO audit_entry (chain, seq, recorded_at, actor_user, actor_role, action, channel,
                         person, resource, outcome, hash)
SELECT taken.chain, taken.seq, :recorded_at, :actor_user, :actor_role, :action, :channel,
       :person, :resource, :outcome, taken.head
  FROM taken
RETURNING chain
"""
    )
)


def append(uow: UnitOfWork, event: AuditEvent, recorded_at: dt.datetime) -> None:
    stored = event.clipped()
    if uow.dialect == "postgresql":
        _append_in_one_statement(uow, stored, recorded_at)
    else:
        _append_from_python(uow, stored, recorded_at)


def _append_in_one_statement(uow: UnitOfWork, event: AuditEvent, recorded_at: dt.datetime) -> None:
    runner = uow.hot
    info: dict[str, Any] | None = getattr(runner, "info", None)  # a Session's; None autocommitting
    params = {
        "separator": SEPARATOR,
        "content": content(recorded_at, event),
        "chain": info.get(_CHAIN_TAKEN) if info is not None else None,
        **_columns(recorded_at, event),
    }
    chain = _APPEND.scalar_or_none(runner, params)
    if chain is None:
        raise LookupError("no audit chain head to append to (migration 0015 makes them)")
    if info is not None:
        info[_CHAIN_TAKEN] = int(chain)


def _append_from_python(uow: UnitOfWork, event: AuditEvent, recorded_at: dt.datetime) -> None:
    session = uow.session
    chain = session.info.get(_CHAIN_TAKEN)
    if chain is None:
        chain = random.randrange(CHAINS)
    row = session.execute(
        select(AuditChain.seq, AuditChain.head).where(AuditChain.chain == chain)
    ).one_or_none()
    if row is None:
        raise LookupError(f"no head for audit chain {chain} (migration 0015 makes them)")
    seq = int(row.seq) + 1
    head = next_hash(row.head, seq, content(recorded_at, event))
    session.execute(update(AuditChain).where(AuditChain.chain == chain).values(seq=seq, head=head))
    session.execute(
        insert(EntryRow).values(chain=chain, seq=seq, hash=head, **_columns(recorded_at, event))
    )
    session.info[_CHAIN_TAKEN] = chain


def _columns(recorded_at: dt.datetime, event: AuditEvent) -> dict[str, Any]:
    return {
        "recorded_at": recorded_at,
        "actor_user": event.actor.user,
        "actor_role": event.actor.role,
        "action": event.action,
        "channel": event.channel,
        "person": event.person,
        "resource": event.resource,
        "outcome": event.outcome,
    }
