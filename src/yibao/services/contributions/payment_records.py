"""Payment records: month by month, what was paid, by whom, on what base, and what was credited.

The record that lets a person supervise their employer (Social Insurance Law art. 4).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import String, cast, literal, select

from yibao.adapters.tables import Contribution, Employer
from yibao.ledger.keys import keyed_transfers
from yibao.services import audit
from yibao.services.audit import Actor, AuditEvent
from yibao.services.registry import person_by_id_number
from yibao.services.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class PaymentLine:
    month: str
    through_month: str
    received_on: dt.date
    paid_by: str  # the employer's name, or "self"
    scheme: str
    insurances: tuple[str, ...]
    base_fen: int | None
    medical_employer_fen: int
    medical_person_fen: int
    credit_fen: int
    credited_on: dt.date | None


def payment_records(
    *,
    uow: UnitOfWork,
    id_number: str,
    actor: Actor,
    channel: str,
    year: int | None = None,
    employer_code: str | None = None,
) -> list[PaymentLine]:
    """The person's contributions in month order (one year if given); the reading is audited.

    With `employer_code`, only what that employer paid: all an employer may see of a person.
    """
    with uow.reading() as reads:
        person = person_by_id_number(uow=reads, id_number=id_number)
        lines = _lines(reads, person.id, year, employer_code)
    resource = "payment records" if year is None else f"payment records:{year}"
    audit.record(
        uow=uow, event=AuditEvent(actor, "payment_records", channel, person.id_number, resource)
    )
    return lines


def _lines(
    uow: UnitOfWork, person_id: int, year: int | None, employer_code: str | None
) -> list[PaymentLine]:
    key = literal("credit:c", String) + cast(Contribution.id, String)
    credits = keyed_transfers(uow.dialect)
    query = (
        select(Contribution, Employer.name, credits.c.value_date)
        .outerjoin(Employer, Employer.id == Contribution.employer_id)
        .outerjoin(credits, credits.c.key == key)
        .where(Contribution.person_id == person_id)
        .order_by(Contribution.month, Contribution.received_on, Contribution.id)
    )
    if year is not None:
        query = query.where(Contribution.month.between(f"{year}-01", f"{year}-12"))
    if employer_code is not None:
        query = query.where(Employer.code == employer_code)
    return [
        PaymentLine(
            month=c.month,
            through_month=c.through_month,
            received_on=c.received_on,
            paid_by=employer_name or "self",
            scheme=c.scheme,
            insurances=tuple(c.insurances.split(",")),
            base_fen=c.base_fen,
            medical_employer_fen=c.medical_employer_fen,
            medical_person_fen=c.medical_person_fen,
            credit_fen=c.credit_fen,
            credited_on=credited_on,
        )
        for c, employer_name, credited_on in uow.session.execute(query).all()
    ]
