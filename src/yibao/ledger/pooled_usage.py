"""Each patient's pooled-fund usage per year, recomputed from the settlements it summarises.

`pooled_usage` is kept beside the settlements (its row is the patient's lock at the POS): what
it says must be what the patient's settlements of that year, refunded ones not counted, and
the bills they settled in other areas (the insured side of `inter_area_bill`) add up to.
`usage_by_patient_year` is that sum; the check compares the two in one full outer join.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, and_, case, cast, extract, func, or_, select, union_all
from sqlalchemy.orm import Session

from yibao.adapters.tables import InterAreaBill, PooledUsage, Settlement
from yibao.ledger.problems import Problem

S = Settlement.__table__
U = PooledUsage.__table__
B = InterAreaBill.__table__


def usage_by_patient_year() -> Any:
    """(person_id, year, outpatient eligible, outpatient fund, inpatient fund) from settlements
    and bills settled in other areas."""
    bills = union_all(
        select(
            S.c.patient_person_id.label("person_id"),
            S.c.settled_on,
            S.c.visit,
            S.c.eligible_fen,
            S.c.fund_fen,
        ).where(S.c.visit != "pharmacy", S.c.refunded_on.is_(None)),
        select(
            B.c.person_id,
            B.c.settled_on,
            B.c.visit,
            func.coalesce(B.c.eligible_fen, B.c.total_fen),
            B.c.fund_fen,
        ).where(
            B.c.side == "insured",
            B.c.visit.in_(("outpatient", "inpatient")),
            B.c.refunded_on.is_(None),
        ),
    ).subquery("bills")

    def summed(visit: str, column: Any) -> Any:
        return func.coalesce(func.sum(case((bills.c.visit == visit, column), else_=0)), 0)

    year = cast(extract("year", bills.c.settled_on), Integer)
    return (
        select(
            bills.c.person_id,
            year.label("year"),
            summed("outpatient", bills.c.eligible_fen).label("outpatient_eligible_fen"),
            summed("outpatient", bills.c.fund_fen).label("outpatient_fund_fen"),
            summed("inpatient", bills.c.fund_fen).label("inpatient_fund_fen"),
        )
        .group_by(bills.c.person_id, year)
        .subquery("recomputed")
    )


_FIGURES = ("outpatient_eligible_fen", "outpatient_fund_fen", "inpatient_fund_fen")


def pooled_usage_problems(session: Session) -> list[Problem]:
    r = usage_by_patient_year()
    figures = [(func.coalesce(U.c[f], 0), func.coalesce(r.c[f], 0)) for f in _FIGURES]
    person = func.coalesce(U.c.person_id, r.c.person_id)
    year = func.coalesce(U.c.year, r.c.year)
    rows = session.execute(
        select(
            person,
            year,
            *(kept for kept, _ in figures),
            *(recomputed for _, recomputed in figures),
        )
        .select_from(U)
        .join(r, and_(r.c.person_id == U.c.person_id, r.c.year == U.c.year), full=True)
        .where(or_(*(kept != recomputed for kept, recomputed in figures)))
        .order_by(person, year)
    ).all()
    return [
        Problem(
            "pooled_usage_matches",
            f"person {row[0]} in {row[1]}: pooled usage kept as {tuple(row[2:5])} fen "
            f"(outpatient eligible, outpatient fund, inpatient fund), settlements say "
            f"{tuple(row[5:8])}",
        )
        for row in rows
    ]
