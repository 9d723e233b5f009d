"""Whom a settlement concerns: its patient's ID number (the audit trail keys entries by it)."""

from __future__ import annotations

from sqlalchemy import select

from yibao.adapters.tables import Institution, Person, Settlement
from yibao.services.uow import UnitOfWork


def patient_of(*, uow: UnitOfWork, institution_code: str, ref: str) -> str | None:
    return uow.session.scalar(
        select(Person.id_number)
        .join(Settlement, Settlement.patient_person_id == Person.id)
        .join(Institution, Institution.id == Settlement.institution_id)
        .where(Institution.code == institution_code, Settlement.ref == ref)
    )
