"""A person's spending: each settlement that touched them, its lines and how it was split.

The split is the bill's three parts: what the pooled fund paid, what the personal account
paid, and what was paid in person (cash).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from yibao.adapters.tables import Institution, Person, Settlement, SettlementLine
from yibao.domain.idnumber import mask
from yibao.services.registry import person_by_id_number
from yibao.services.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class SpendingLine:
    code: str
    quantity: int
    amount_fen: int
    account_may_pay: bool


@dataclass(frozen=True, slots=True)
class Spending:
    settled_on: dt.date
    institution: str  # its name
    ref: str
    total_fen: int
    fund_fen: int  # paid by the pooled fund
    account_fen: int  # from the payer's personal account
    cash_fen: int  # paid in person
    refunded_on: dt.date | None
    payer: str  # masked ID number
    patient: str  # masked ID number
    for_family: bool  # the payer's account paid for a bound family member
    lines: tuple[SpendingLine, ...]


def spending_of(*, uow: UnitOfWork, id_number: str, since: dt.date | None = None) -> list[Spending]:
    """Settlements where the person was the patient or the paying account, newest first."""
    person = person_by_id_number(uow=uow, id_number=id_number)
    payer, patient = aliased(Person), aliased(Person)
    query = (
        select(Settlement, Institution.name, payer.id_number, patient.id_number)
        .join(Institution, Institution.id == Settlement.institution_id)
        .join(payer, payer.id == Settlement.payer_person_id)
        .join(patient, patient.id == Settlement.patient_person_id)
        .where(
            or_(
                Settlement.payer_person_id == person.id,
                Settlement.patient_person_id == person.id,
            )
        )
        .order_by(Settlement.settled_on.desc(), Settlement.id.desc())
    )
    if since is not None:
        query = query.where(Settlement.settled_on >= since)
    rows = uow.session.execute(query).all()
    lines = _lines(uow, [row[0].id for row in rows])
    return [
        Spending(
            settled_on=row.settled_on,
            institution=name,
            ref=row.ref,
            total_fen=row.total_fen,
            fund_fen=row.fund_fen,
            account_fen=row.personal_fen,
            cash_fen=row.own_fen,
            refunded_on=row.refunded_on,
            payer=mask(payer_number),
            patient=mask(patient_number),
            for_family=row.payer_person_id != row.patient_person_id,
            lines=lines.get(row.id, ()),
        )
        for row, name, payer_number, patient_number in rows
    ]


def _lines(uow: UnitOfWork, ids: list[int]) -> dict[int, tuple[SpendingLine, ...]]:
    if not ids:
        return {}
    found: dict[int, list[SpendingLine]] = {}
    rows = uow.session.scalars(
        select(SettlementLine)
        .where(SettlementLine.settlement_id.in_(ids))
        .order_by(SettlementLine.id)
    ).all()
    for row in rows:
        found.setdefault(row.settlement_id, []).append(
            SpendingLine(row.catalogue_code, row.quantity, row.amount_fen, row.account_may_pay)
        )
    return {key: tuple(value) for key, value in found.items()}
