"""Whom a settlement concerns: its patient's ID number (the audit trail keys entries by it)."""

from __future__ import annotations

from sqlalchemy import select

from yibao.adapters.tables import Institution, InterAreaBill, Person, Settlement
from yibao.services.uow import UnitOfWork


def patient_of(*, uow: UnitOfWork, institution_code: str, ref: str) -> str | None:
    """The patient of a sale at the institution, or of a bill it settled for another area."""
    found = uow.session.scalar(
        select(Person.id_number)
        .join(Settlement, Settlement.patient_person_id == Person.id)
        .join(Institution, Institution.id == Settlement.institution_id)
        .where(Institution.code == institution_code, Settlement.ref == ref)
    )
    if found is not None:
        return found
    return uow.session.scalar(
        select(InterAreaBill.id_number).where(
            InterAreaBill.side == "treating",
            InterAreaBill.institution_code == institution_code,
            InterAreaBill.ref == ref,
        )
    )
