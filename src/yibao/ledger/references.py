"""The references a sale's rows hold without foreign keys (migration 0028), checked.

The database no longer refuses a settlement naming an institution, person or card that does not
exist (its foreign keys cost every sale a lock on the institution's row): this check finds one.
One anti-join per reference, so it stays a pass over each table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, exists, select
from sqlalchemy.orm import Session

from yibao.adapters.tables import (
    Card,
    ElectronicCardUse,
    Institution,
    Person,
    PooledUsage,
    Settlement,
    SettlementLine,
)
from yibao.ledger.problems import Problem

S = Settlement.__table__
L = SettlementLine.__table__
E = ElectronicCardUse.__table__
U = PooledUsage.__table__

# (what holds the reference, its column, what it names, how the holder is named in a problem)
REFERENCES: tuple[tuple[Any, str, Any, str], ...] = (
    (S, "institution_id", Institution.__table__, "settlement"),
    (S, "payer_person_id", Person.__table__, "settlement"),
    (S, "patient_person_id", Person.__table__, "settlement"),
    (S, "card_id", Card.__table__, "settlement"),
    (L, "settlement_id", S, "settlement line"),
    (E, "person_id", Person.__table__, "electronic card use"),
    (E, "institution_id", Institution.__table__, "electronic card use"),
    (U, "person_id", Person.__table__, "pooled usage of person"),
)


def dangling_references(session: Session) -> list[Problem]:
    """Every row of a sale whose reference names no row."""
    problems = []
    for holder, column, named, noun in REFERENCES:
        for row_id, value in _dangling(session, holder, column, named):
            problems.append(
                Problem(
                    "references_exist",
                    f"{noun} {row_id}: {column} {value} names no {named.name}",
                )
            )
    return problems


def _dangling(session: Session, holder: Table, column: str, named: Table) -> list[Any]:
    reference = holder.c[column]
    identity = holder.c.id if "id" in holder.c else holder.c.person_id
    found = exists().where(named.c.id == reference)
    return list(
        session.execute(
            select(identity, reference).where(reference.is_not(None), ~found).order_by(identity)
        ).all()
    )
