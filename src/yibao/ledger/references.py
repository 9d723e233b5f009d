"""The references a sale's rows hold without foreign keys (migration 0028), checked.

The database no longer refuses a settlement naming an institution, person or card that does not
exist (its foreign keys cost every sale a lock on the institution's row): this check finds one.
One anti-join per reference, so it stays a pass over each table.
"""

from __future__ import annotations

from typing import Any, cast

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

S = cast(Table, Settlement.__table__)
L = cast(Table, SettlementLine.__table__)
E = cast(Table, ElectronicCardUse.__table__)
U = cast(Table, PooledUsage.__table__)
P = cast(Table, Person.__table__)
I = cast(Table, Institution.__table__)  # noqa: E741 - the institution table
C = cast(Table, Card.__table__)

# (what holds the reference, its column, what it names, how the holder is named in a problem)
REFERENCES: tuple[tuple[Table, str, Table, str], ...] = (
    (S, "institution_id", I, "settlement"),
    (S, "payer_person_id", P, "settlement"),
    (S, "patient_person_id", P, "settlement"),
    (S, "card_id", C, "settlement"),
    (L, "settlement_id", S, "settlement line"),
    (E, "person_id", P, "electronic card use"),
    (E, "institution_id", I, "electronic card use"),
    (U, "person_id", P, "pooled usage of person"),
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
    identity = next(iter(holder.primary_key))  # pooled_usage: the person, before the year
    found = exists().where(named.c.id == reference)
    return list(
        session.execute(
            select(identity, reference).where(reference.is_not(None), ~found).order_by(identity)
        ).all()
    )
