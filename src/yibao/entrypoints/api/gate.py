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
from yibao.services.settlement import Alongside, Receipt
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


class _KeptInTheSale:
    """`settlement.Alongside` for an API sale: its answer kept by the Idempotency-Key and its
    audit entry, in the sale's own transaction: the three commit together or not at all."""

    def __init__(
        self,
        caller: Caller,
        *,
        key: str,
        digest: str,
        action: str,
        resource: str,
        answer_of: Callable[[Receipt], tuple[int, Any]],
    ) -> None:
        self.caller, self.key, self.digest = caller, key, digest
        self.action, self.resource, self.answer_of = action, resource, answer_of
        self.answer: idempotency.Answer | None = None

    def before(self, uow: UnitOfWork) -> None:
        pass

    def after(self, uow: UnitOfWork, receipt: Receipt) -> None:
        status, body = self.answer_of(receipt)
        answer = idempotency.Answer(status, body)
        kept = idempotency.keep_in_transaction(
            uow=uow, user_id=self.caller.user.id, key=self.key, digest=self.digest, answer=answer
        )
        if kept is answer:  # the first answer: its audit entry, last in the transaction
            person = receipt.patient_id_number or None
            record(uow=uow, event=_event(self.caller, self.action, person, self.resource, OK))
        self.answer = kept


def idempotent_sale(
    caller: Caller,
    *,
    key: str,
    digest: str,
    action: str,
    target: Target,
    resource: str,
    sell: Callable[[Alongside], object],
    answer_of: Callable[[Receipt], tuple[int, Any]],
) -> JSONResponse:
    """As `idempotent`, for a sale (a service that opens its own transaction): first one
    statement reads the token's holder and the key's first answer (access is checked before
    the card is read or its PIN tried); then the sale runs with its answer and audit entry
    alongside (`settlement.Alongside`), in its one transaction.

    A retry whose first answer was lost finds it by the key; a copy running at the same time
    waits on the sale's reference and then on the key, and answers as the first did.
    """
    key = idempotency.check_key(key)
    try:
        with caller.app.uow().statement_by_statement() as uow:
            user, found = idempotency.holder_and_first_answer(
                uow=uow, claims=caller.claims, key=key, digest=digest
            )
            caller.authenticated_as(user)
            access.authorize(uow=uow, user=user, action=action, target=target)
        if found is not None:
            return JSONResponse(found.body, found.status_code)
        kept = _KeptInTheSale(
            caller, key=key, digest=digest, action=action, resource=resource, answer_of=answer_of
        )
        sell(kept)
    except YibaoError as error:
        if not caller.authenticated:
            raise
        record_in_own_transaction(
            uow_factory=caller.app.uow,
            event=_event(caller, action, _person_of(target), resource, error.code),
        )
        raise
    assert kept.answer is not None
    return JSONResponse(kept.answer.body, kept.answer.status_code)
