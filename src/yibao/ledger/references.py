"""The references a sale's rows hold without foreign keys (migration 0028), checked.

The database no longer refuses a settlement naming an institution, person or card that does not
exist (its foreign keys cost every sale a lock on the institution's row): this check finds one.
One anti-join per reference, so it stays a pass over each table. A national visit's person and
settlement, and its fee lines' settlement, are checked where the visit is of this database's
insured (migration 0030): a visit of another insured area names that area's rows.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import ColumnElement, Table, exists, select
from sqlalchemy.orm import Session

from yibao.adapters.tables import (
    Card,
    ElectronicCardUse,
    Institution,
    NationalFeeLine,
    NationalVisit,
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
V = cast(Table, NationalVisit.__table__)
F = cast(Table, NationalFeeLine.__table__)
HOME_VISIT = V.c.insured_area.is_(None)
HOME_LINE = F.c.visit_id.in_(select(V.c.id).where(HOME_VISIT))

# (what holds the reference, its column, what it names, how the holder is named in a problem,
# which of its rows hold a reference of this database: None, all)
REFERENCES: tuple[tuple[Table, str, Table, str, ColumnElement[bool] | None], ...] = (
    (S, "institution_id", I, "settlement", None),
    (S, "payer_person_id", P, "settlement", None),
    (S, "patient_person_id", P, "settlement", None),
    (S, "card_id", C, "settlement", None),
    (L, "settlement_id", S, "settlement line", None),
    (E, "person_id", P, "electronic card use", None),
    (E, "institution_id", I, "electronic card use", None),
    (U, "person_id", P, "pooled usage of person", None),
    (V, "person_id", P, "national visit", HOME_VISIT),
    (V, "settlement_id", S, "national visit", HOME_VISIT),
    (F, "settlement_id", S, "national fee line", HOME_LINE),
)


def dangling_references(session: Session) -> list[Problem]:
    """Every row of a sale whose reference names no row."""
    problems = []
    for holder, column, named, noun, where in REFERENCES:
        for row_id, value in _dangling(session, holder, column, named, where):
            problems.append(
                Problem(
                    "references_exist",
                    f"{noun} {row_id}: {column} {value} names no {named.name}",
                )
            )
    return problems


def _dangling(
    session: Session,
    holder: Table,
    column: str,
    named: Table,
    where: ColumnElement[bool] | None,
) -> list[Any]:
    reference = holder.c[column]
    identity = next(iter(holder.primary_key))  # pooled_usage: the person, before the year
    found = exists().where(named.c.id == reference)
    query = select(identity, reference).where(reference.is_not(None), ~found)
    if where is not None:
        query = query.where(where)
    return list(session.execute(query.order_by(identity)).all())
