"""The way every route reaches the services: access checked, the audit trail appended.

`guarded` runs a route's work in one unit of work after the access table allowed it, and
appends the audit entry in the same transaction; a refusal or failure is recorded in a
transaction of its own. `idempotent` adds the Idempotency-Key's first answer to that
transaction. Routes hold no rule of their own: they translate, then call a service here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from yibao.domain.errors import InvalidInput, YibaoError
from yibao.domain.idnumber import IdNumber
from yibao.entrypoints.api.deps import Caller
from yibao.services.accounts import access, idempotency
from yibao.services.accounts.access import Target
from yibao.services.audit import OK, Actor, AuditEvent, record, record_in_own_transaction
from yibao.services.uow import UnitOfWork

API_CHANNEL = "api"  # how the call came; an inquiry's own channel (web, ...) is its resource


@dataclass(slots=True)
class Guard:
    """The unit of work a route runs in, and the person it turned out to concern."""

    uow: UnitOfWork
    person: str | None  # an ID number: the audit entry is about them


def _person_of(target: Target) -> str | None:
    """The target's person as the audit trail keys it; a malformed number concerns no one."""
    if target.person is None:
        return None
    try:
        return IdNumber.parse(target.person).value
    except InvalidInput:
        return None


def _event(
    caller: Caller, action: str, person: str | None, resource: str, outcome: str
) -> AuditEvent:
    return AuditEvent(
        actor=actor_of(caller),
        action=action,
        channel=caller.channel,
        person=person,
        resource=resource,
        outcome=outcome,
    )


def _audited(action: str, target: Target, person: str | None) -> bool:
    return (
        person is not None
        or target.card is not None
        or action.startswith(
            ("persons.", "cards.", "financial.", "family.", "pos.", "hotline.", "imports.")
        )
    )


# Whose services append their own entry when they succeed (an inquiry, payment records, a
# hotline call): the gate records only their refusals, which leave nothing behind.
SELF_AUDITED = frozenset(
    {"persons.inquiry", "cards.inquiry", "hotline.inquiry", "persons.payment_records"}
)


def actor_of(caller: Caller) -> Actor:
    return Actor(user=caller.user.name, role=str(caller.user.role))


@contextmanager
def guarded(caller: Caller, action: str, target: Target, resource: str) -> Iterator[Guard]:
    """One transaction: the access check, the route's work, and the audit entry."""
    guard: Guard | None = None
    try:
        with caller.app.uow() as uow:
            guard = Guard(uow, _person_of(target))
            user = caller.authenticate(uow)
            access.authorize(uow=uow, user=user, action=action, target=target)
            yield guard
            if _audited(action, target, guard.person) and action not in SELF_AUDITED:
                record(uow=uow, event=_event(caller, action, guard.person, resource, OK))
    except YibaoError as error:
        person = guard.person if guard is not None else _person_of(target)
        if caller.authenticated and _audited(action, target, person):
            record_in_own_transaction(
                uow_factory=caller.app.uow,
                event=_event(caller, action, person, resource, error.code),
            )
        raise


@contextmanager
def checked(caller: Caller, action: str, target: Target, resource: str) -> Iterator[Guard]:
    """For a service that opens its own transactions (a POS sale, a PIN try): the access
    check in one, the work in the service's, the audit entry in one of its own after."""
    person = _person_of(target)
    try:
        with caller.app.uow() as uow:
            user = caller.authenticate(uow)
            access.authorize(uow=uow, user=user, action=action, target=target)
        guard = Guard(uow, person)
        yield guard
        person = guard.person
    except YibaoError as error:
        if not caller.authenticated:
            raise
        record_in_own_transaction(
            uow_factory=caller.app.uow,
            event=_event(caller, action, person, resource, error.code),
        )
        raise
    if action not in SELF_AUDITED:
        record_in_own_transaction(
            uow_factory=caller.app.uow, event=_event(caller, action, person, resource, OK)
        )


def request_digest(request: Request, body: Any) -> str:
    return idempotency.request_hash(request.method, request.url.path, body)


def idempotent(
    caller: Caller,
    *,
    key: str,
    digest: str,
    action: str,
    target: Target,
    resource: str,
    work: Callable[[Guard], tuple[int, Any]],
) -> JSONResponse:
    """Answer a money-moving request once: a retry with the key gets the first answer."""
    key = idempotency.check_key(key)
    with guarded(caller, action, target, resource) as guard:
        claim = idempotency.claim(uow=guard.uow, user_id=caller.user.id, key=key, digest=digest)
        if claim.answer is not None:
            return JSONResponse(claim.answer.body, claim.answer.status_code)
        status, body = work(guard)
        assert claim.record_id is not None
        idempotency.remember(
            uow=guard.uow, record_id=claim.record_id, answer=idempotency.Answer(status, body)
        )
    return JSONResponse(body, status)


def idempotent_committed_alone(
    caller: Caller,
    *,
    key: str,
    digest: str,
    action: str,
    target: Target,
    resource: str,
    work: Callable[[], tuple[int, Any]],
    person_after: Callable[[UnitOfWork], str | None],
) -> JSONResponse:
    """As `idempotent`, for a write that commits on its own (a POS sale): the key is looked up
    first, the write runs, then its answer and audit entry are kept in one transaction.

    A retry after a lost answer runs the write again, which is idempotent by itself (a sale
    by its institution and reference) and answers as the first time.
    """
    key = idempotency.check_key(key)
    try:
        with caller.app.uow() as uow:
            user = caller.authenticate(uow)
            access.authorize(uow=uow, user=user, action=action, target=target)
            found = idempotency.find(uow=uow, user_id=user.id, key=key, digest=digest)
        if found is not None:
            return JSONResponse(found.body, found.status_code)
        status, body = work()
    except YibaoError as error:
        if not caller.authenticated:
            raise
        record_in_own_transaction(
            uow_factory=caller.app.uow,
            event=_event(caller, action, _person_of(target), resource, error.code),
        )
        raise
    with caller.app.uow() as uow:
        answer = idempotency.keep(
            uow=uow,
            user_id=user.id,
            key=key,
            digest=digest,
            answer=idempotency.Answer(status, body),
        )
        event = _event(caller, action, person_after(uow), resource, OK)
        record(uow=uow, event=event)
    return JSONResponse(answer.body, answer.status_code)
