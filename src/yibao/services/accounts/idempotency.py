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

from sqlalchemy import Table, and_, bindparam, select, update

from yibao.adapters.db import insert_skipping_duplicates
from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import IdempotencyRecord
from yibao.domain.errors import Conflict, InvalidInput
from yibao.services.accounts import User
from yibao.services.accounts.tokens import TOKENS, USERS, Claims, holder_of
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
    return _answer_for(key, digest, row.request_hash, row.status_code, row.response)


# A money-moving request's first read (a POS sale): the token's holder, and the answer kept for
# the key if any, in one statement that commits nothing (`holder_and_first_answer`).
_HOLDER_AND_ANSWER = HotStatement(
    select(
        TOKENS.c.revoked_at, TOKENS.c.expires_at,
        USERS.c.id, USERS.c.name, USERS.c.role, USERS.c.scope, USERS.c.disabled_at,
        RECORDS.c.request_hash, RECORDS.c.status_code, RECORDS.c.response,
    )
    .select_from(
        TOKENS.join(USERS, USERS.c.id == TOKENS.c.user_id).outerjoin(
            RECORDS, and_(RECORDS.c.user_id == USERS.c.id, RECORDS.c.key == bindparam("key"))
        )
    )
    .where(TOKENS.c.id == bindparam("token_id"))
)  # fmt: skip
_KEEP = HotStatement(
    lambda dialect: (
        insert_skipping_duplicates(dialect, RECORDS)
        .on_conflict_do_nothing()
        .returning(RECORDS.c.id)
    )
)


def holder_and_first_answer(
    *, uow: UnitOfWork, claims: Claims, key: str, digest: str
) -> tuple[User, Answer | None]:
    """The token's holder (refused if revoked, disabled or expired, as `tokens.holder`) and
    the answer kept for the key (refused if the key was used for another request)."""
    row = _HOLDER_AND_ANSWER.one_or_none(uow.hot, {"token_id": claims.token_id, "key": key})
    user = holder_of(row)
    assert row is not None
    if row[7] is None:
        return user, None
    return user, _answer_for(key, digest, row[7], row[8], row[9])


def _answer_for(key: str, digest: str, request_hash: str, status: int, response: str) -> Answer:
    if request_hash != digest:
        raise IdempotencyKeyReused(
            f"{HEADER} {key!r} was used for another request; use a new key for a new request"
        )
    return Answer(int(status), json.loads(response))


def keep_in_transaction(
    *, uow: UnitOfWork, user_id: int, key: str, digest: str, answer: Answer
) -> Answer:
    """In the write's own transaction (on `uow.hot`, so a sale's statements stay on their
    connection): keep its answer, or return the one a copy of the request kept first (the
    insert waits on the key's unique index until that copy commits). The same key with
    another request is refused, and the write rolls back with the transaction."""
    params = {
        "user_id": user_id,
        "key": key,
        "request_hash": digest,
        "status_code": answer.status_code,
        "response": json.dumps(answer.body, default=str),
    }
    if _KEEP.scalar_or_none(uow.hot, params) is not None:
        return answer
    row = _FIND.one_or_none(uow.hot, {"user_id": user_id, "key": key})
    assert row is not None  # the key was taken and its transaction has ended
    return _answer_for(key, digest, row[0], row[1], row[2])


_FIND = HotStatement(
    select(RECORDS.c.request_hash, RECORDS.c.status_code, RECORDS.c.response).where(
        RECORDS.c.user_id == bindparam("user_id"), RECORDS.c.key == bindparam("key")
    )
)


def remember(*, uow: UnitOfWork, record_id: int, answer: Answer) -> None:
    uow.session.execute(
        update(RECORDS)
        .where(RECORDS.c.id == record_id)
        .values(status_code=answer.status_code, response=json.dumps(answer.body, default=str))
    )
