"""The hotline's access to records: identity check with the card PIN, reads that are logged."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select

from yibao.adapters.tables import LedgerTransfer
from yibao.domain.channels import Channel
from yibao.domain.errors import YibaoError
from yibao.domain.explain_words import next_step_zh
from yibao.domain.hotline import Reasons
from yibao.ledger import accounts
from yibao.ledger.kinds import CREDITS
from yibao.services import audit, cards
from yibao.services.audit import Actor, AuditEvent
from yibao.services.inquiry.explain import explain_balance
from yibao.services.registry import person_by_id_number
from yibao.services.uow import UnitOfWork


class HotlineRecordsFromStorage:
    """HotlineRecords over the database; every read of a person's data, and every identity
    check, is audited under `actor` (the telephony platform, or the CLI's user)."""

    def __init__(
        self, uow_factory: Callable[[], UnitOfWork], today: dt.date, *, actor: Actor
    ) -> None:
        self.uow_factory, self.today, self.actor = uow_factory, today, actor

    def verify(self, id_number: str, password: str) -> bool:
        """The query password is the card's PIN; wrong tries count toward its lock."""
        outcome = audit.OK
        try:
            with self.uow_factory() as uow:
                card = cards.require_current_card(
                    uow=uow, person=person_by_id_number(uow=uow, id_number=id_number)
                )
            cards.check_pin(
                uow_factory=self.uow_factory, card_no=card.card_no, pin=password, on=self.today
            )
        except YibaoError as error:
            outcome = error.code
        event = AuditEvent(
            self.actor, "identity_check", Channel.HOTLINE, id_number, "query password", outcome
        )
        audit.record_in_own_transaction(uow_factory=self.uow_factory, event=event)
        return outcome == audit.OK

    def medical_balance(self, id_number: str) -> int:
        with self.uow_factory() as uow:
            records, _ = explain_balance(
                uow=uow,
                id_number=id_number,
                as_of=self.today,
                channel=Channel.HOTLINE,
                actor=self.actor,
            )
        return records.medical_fen

    def latest_credit(self, id_number: str) -> tuple[str, int] | None:
        with self.uow_factory() as uow:
            person = person_by_id_number(uow=uow, id_number=id_number)
            account_id = uow.ledger.find_account(
                accounts.personal_account(person.area_code, person.id)
            )
            if account_id is None:
                audit.record(
                    uow=uow,
                    event=AuditEvent(
                        self.actor, "inquiry", Channel.HOTLINE, person.id_number, "latest credit"
                    ),
                )
                return None
            t = LedgerTransfer
            row = uow.session.execute(
                select(t.value_date, t.amount_fen)
                .where(
                    t.credit_account_id == account_id,
                    t.kind.in_(CREDITS),
                    t.value_date <= self.today,
                )
                .order_by(t.value_date.desc(), t.id.desc())
                .limit(1)
            ).one_or_none()
            event = AuditEvent(
                self.actor, "inquiry", Channel.HOTLINE, person.id_number, "latest credit"
            )
            audit.record(uow=uow, event=event)
        return None if row is None else (row[0].isoformat(), int(row[1]))

    def reasons(self, id_number: str) -> Reasons:
        with self.uow_factory() as uow:
            records, explanation = explain_balance(
                uow=uow,
                id_number=id_number,
                as_of=self.today,
                channel=Channel.HOTLINE,
                actor=self.actor,
            )
        top = explanation.findings[:3]
        # read in Chinese first, then in English, as every other line of the menu
        return Reasons(
            records.medical_fen,
            tuple(f"{f.summary_zh} {f.summary}" for f in top),
            f"{next_step_zh(top[0].code, top[0].next_step)} {top[0].next_step}" if top else None,
        )
