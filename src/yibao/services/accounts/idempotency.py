"""The first answer to a money-moving request, kept by the caller's Idempotency-Key.

`claim` runs first in the request's transaction: it inserts the key, or finds the answer given
before. A concurrent request with the same key waits on the key's unique index (PostgreSQL;
SQLite's writers are serialized already) until the first commits, then finds its answer. The
caller does its work and `remember`s the answer in the same transaction: the write and its
answer are kept together, or neither is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, select, update

from yibao.adapters.db import insert_skipping_duplicates
from yibao.adapters.tables import IdempotencyRecord
from yibao.domain.errors import Conflict, InvalidInput
from yibao.services.registry import fields
from yibao.services.uow import UnitOfWork

RECORDS = cast(Table, IdempotencyRecord.__table__)
HEADER = "Idempotency-Key"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    body: Any  # JSON-ready


@dataclass(frozen=True, slots=True)
class Claim:
    """Either the answer given before, or the record to `remember` the new answer in."""

    answer: Answer | None
    record_id: int | None


def request_hash(method: str, path: str, body: Any) -> str:
    """Of what the request asks: the same key with another body is refused."""
    content = json.dumps([method, path, body], sort_keys=True, default=str)
    return hashlib.sha256(content.encode()).hexdigest()


def check_key(key: str | None) -> str:
    if key is None:
        raise InvalidInput(HEADER, key, "is required on a request that moves money")
    return fields.text(key, field=HEADER, column=IdempotencyRecord.key)


def claim(*, uow: UnitOfWork, user_id: int, key: str, digest: str) -> Claim:
    inserted = _insert(uow, user_id, key, digest, Answer(0, ""))
    if inserted is not None:
        return Claim(None, inserted)
    return Claim(find(uow=uow, user_id=user_id, key=key, digest=digest), None)


def _insert(uow: UnitOfWork, user_id: int, key: str, digest: str, answer: Answer) -> int | None:
    """The new record's id; None if the key is taken (after the transaction holding it ends)."""
    inserted = uow.session.execute(
        insert_skipping_duplicates(uow.dialect, RECORDS)
        .values(
            user_id=user_id,
            key=key,
            request_hash=digest,
            status_code=answer.status_code,
            response=json.dumps(answer.body, default=str),
        )
        .on_conflict_do_nothing()
        .returning(RECORDS.c.id)
    ).scalar_one_or_none()
    return None if inserted is None else int(inserted)


def find(*, uow: UnitOfWork, user_id: int, key: str, digest: str) -> Answer | None:
    """The answer kept for the key; refused if the key was used for another request."""
    row = uow.session.execute(
        select(RECORDS.c.request_hash, RECORDS.c.status_code, RECORDS.c.response).where(
            RECORDS.c.user_id == user_id, RECORDS.c.key == key
        )
    ).one_or_none()
    if row is None:
        return None
    if row.request_hash != digest:
        raise IdempotencyKeyReused(
            f"{HEADER} {key!r} was used for another request; use a new key for a new request"
        )
    return Answer(int(row.status_code), json.loads(row.response))


def remember(*, uow: UnitOfWork, record_id: int, answer: Answer) -> None:
    uow.session.execute(
        update(RECORDS)
        .where(RECORDS.c.id == record_id)
        .values(status_code=answer.status_code, response=json.dumps(answer.body, default=str))
    )


def keep(*, uow: UnitOfWork, user_id: int, key: str, digest: str, answer: Answer) -> Answer:
    """For a write committed on its own (a POS sale): keep its answer, or the one kept first."""
    if _insert(uow, user_id, key, digest, answer) is not None:
        return answer
    kept = find(uow=uow, user_id=user_id, key=key, digest=digest)
    assert kept is not None  # the key was taken and its transaction has ended
    return kept
