"""Whose data a request touched, where it names a card or a sale rather than a person."""

from __future__ import annotations

from sqlalchemy import select

from yibao.adapters.tables import Card, Institution, Person, Settlement
from yibao.services.uow import UnitOfWork


def holder_of_card(*, uow: UnitOfWork, card_no: str) -> str | None:
    """The ID number of the card's holder; None for a card that does not exist."""
    return uow.session.scalar(
        select(Person.id_number)
        .join(Card, Card.person_id == Person.id)
        .where(Card.card_no == card_no)
    )


def patient_of_sale(*, uow: UnitOfWork, ref: str, institution_code: str | None) -> str | None:
    """The ID number of the patient of the sale `ref`; None if no single sale has that ref."""
    query = (
        select(Person.id_number)
        .join(Settlement, Settlement.patient_person_id == Person.id)
        .join(Institution, Institution.id == Settlement.institution_id)
        .where(Settlement.ref == ref)
        .limit(2)
    )
    if institution_code is not None:
        query = query.where(Institution.code == institution_code)
    found = uow.session.scalars(query).all()
    return found[0] if len(found) == 1 else None
