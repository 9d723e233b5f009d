"""What every transaction handler gets: the app, the caller, the envelope, the clock, and
(for a handler whose writes share the msgid's claim) the unit of work of that claim."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from yibao.bootstrap import App
from yibao.entrypoints.national.envelope import Envelope, success
from yibao.services.areas import AreaDatabases
from yibao.services.audit import Actor, AuditEvent, record
from yibao.services.national import messages
from yibao.services.national.bills import SettledBill
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
    now: dt.datetime  # aware, in local time: an e-voucher's expiry is compared with it
    # where each area has its own database, the person's insured area if not the institution's
    # (`insuplc_admdvs`): the message's psn_no and setl_id are of its database
    insured_area: str | None = None

    @property
    def today(self) -> dt.date:
        return self.app.today()

    @property
    def areas(self) -> AreaDatabases:
        """The areas' databases, for a message about a person insured in another area."""
        assert self.app.areas is not None
        assert self.insured_area is not None
        return self.app.areas

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


class AnswerKept:
    """A settlement's answer kept for its msgid, and its audit entry, in the settlement's own
    transaction (`bills.InTheSale`): the sale, the answer and the entry commit together. A
    copy of the message settled meanwhile gets the first answer, and writes nothing."""

    def __init__(
        self,
        ctx: Context,
        output_of: Callable[[SettledBill], Output],
        resource: Callable[[SettledBill], str],
        *,
        before: Callable[[UnitOfWork], None] | None = None,
        link: Callable[[UnitOfWork, SettledBill], None] | None = None,
    ) -> None:
        self.ctx, self.output_of, self.resource = ctx, output_of, resource
        self._before, self._link = before, link
        self.answer: Output | None = None
        self.settled_fen: int | None = None  # the bill's total, when this message settled it

    def before(self, uow: UnitOfWork) -> None:
        if self._before is not None:
            self._before(uow)

    def after(self, uow: UnitOfWork, bill: SettledBill) -> None:
        ctx = self.ctx
        answer = success(self.output_of(bill))
        kept = messages.keep(
            uow=uow,
            institution_id=ctx.caller.institution_id,
            msgid=ctx.envelope.msgid,
            infno=ctx.envelope.infno,
            response=answer,
        )
        if kept is answer:  # the first: its links and audit entry, last in the transaction
            self.settled_fen = bill.cut.medfee_sumamt
            if self._link is not None:
                self._link(uow, bill)
            event = ctx.event(ctx.envelope.infno, bill.person.id_number, self.resource(bill))
            record(uow=uow, event=event)
        self.answer = kept
