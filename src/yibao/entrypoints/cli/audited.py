"""The CLI's side of the audit trail: every command on a person's data leaves one entry.

A command names what it does (`Audited`) when it calls `run` or `in_one_transaction`
(entrypoints/cli/common.py), and those record it: a write in its own transaction where the
command has one, else right after; a refusal (the error's code as the outcome) in a transaction
of its own, since the command's rolled back. The actor is the operating-system user.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from sqlalchemy.exc import DataError, DBAPIError

from yibao.bootstrap import App
from yibao.domain.errors import YibaoError
from yibao.services import audit
from yibao.services.audit import OK, Actor, AuditEvent
from yibao.services.audit.subjects import holder_of_card, patient_of_sale
from yibao.services.uow import UnitOfWork

CHANNEL = "cli"
ROLE = "operator"

PersonOf = Callable[[UnitOfWork], str | None]


@dataclass(frozen=True, slots=True)
class Audited:
    """What a command does to whose data: the person by ID number, or found by `person_of`."""

    action: str
    resource: str
    person: str | None = None
    person_of: PersonOf | None = None
    channel: str = CHANNEL
    by_service: bool = False  # the service records its own success (inquiries, records)

    def event(self, uow: UnitOfWork, outcome: str) -> AuditEvent:
        """The entry, its person looked up (if need be) in `uow`, the one it is recorded in."""
        person = self.person
        if person is None and self.person_of is not None:
            person = self.person_of(uow)
        return AuditEvent(cli_actor(), self.action, self.channel, person, self.resource, outcome)


def of_card(card_no: str) -> PersonOf:
    return lambda uow: holder_of_card(uow=uow, card_no=card_no)


def of_sale(ref: str, institution_code: str | None) -> PersonOf:
    return lambda uow: patient_of_sale(uow=uow, ref=ref, institution_code=institution_code)


def cli_actor() -> Actor:
    """The operating-system user running the command (its uid where the name is unknown)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid:{os.getuid()}"
    return Actor(user, ROLE)


def record_in(uow: UnitOfWork, audited: Audited) -> None:
    """The success of a command whose write is in `uow`: recorded in the same transaction."""
    audit.record(uow=uow, event=audited.event(uow, OK))


def recorded_within(audited: Audited) -> Audited:
    """The same, for `recording`, once the success was recorded in the command's transaction."""
    return replace(audited, by_service=True)


@contextmanager
def recording(app: App, audited: Audited | None) -> Iterator[None]:
    """Record the command's refusal, or its success unless recorded already."""
    if audited is None:
        yield
        return
    try:
        yield
    except YibaoError as error:
        _refusal(app, audited, error.code)
        raise
    except (DataError, OverflowError):
        _refusal(app, audited, "invalid_input")
        raise
    except DBAPIError:
        _refusal(app, audited, "storage")
        raise
    if not audited.by_service:
        _record_alone(app, audited, OK)


def _record_alone(app: App, audited: Audited, outcome: str) -> None:
    with app.uow() as uow:
        audit.record(uow=uow, event=audited.event(uow, outcome))


def _refusal(app: App, audited: Audited, code: str) -> None:
    """Recorded on its own; if even that fails, the refusal is still what the user sees."""
    try:
        _record_alone(app, audited, code)
    except (YibaoError, DBAPIError) as error:
        print(f"warning: the refusal could not be audited: {error}", file=sys.stderr)
