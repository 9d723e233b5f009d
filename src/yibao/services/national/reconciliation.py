"""3201: the institution's totals for some days against yibao's, settlement by settlement;
cancelled and reversed settlements (refunded) count in neither.

Where each area has its own database, a 3201 naming another insured area A reconciles the
institution's cross-area bills (异地就医) of A's persons, apart from its home settlements: a
cross-area bill leaves no `settlement` row in the institution's area B, only B's record of what
A owes for it (`inter_area_bill`, side "treating"), so the two totals never share a bill.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select

from yibao.adapters.tables import InterAreaBill, Settlement
from yibao.domain.money import fen_to_yuan
from yibao.domain.national_codes import clr_type_of, insutype_of
from yibao.domain.pooled import Visit
from yibao.domain.schemes import Scheme
from yibao.services.areas import AreaDatabases
from yibao.services.national.gateway import Caller
from yibao.services.registry import scheme_on_column
from yibao.services.settlement.across_areas import INSURED, TREATING
from yibao.services.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Totals:
    medfee_sumamt: int
    fund_pay_sumamt: int
    acct_pay: int
    count: int


@dataclass(frozen=True, slots=True)
class Statement:
    balanced: bool
    differences: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Period:
    """The settlements a 3201 names: of an insutype and a clr_type, settled from `first` to
    `last`."""

    insutype: str
    clr_type: str
    first: dt.date
    last: dt.date


def reconcile(
    *,
    uow: UnitOfWork,
    caller: Caller,
    period: Period,
    theirs: Totals,
    areas: AreaDatabases | None = None,
    insured_area: str | None = None,
) -> Statement:
    """The institution's totals against yibao's: of its home settlements, or (`insured_area`,
    with `areas`) of its cross-area bills of that area's persons."""
    if insured_area is None:
        ours = totals(uow=uow, caller=caller, period=period)
    else:
        assert areas is not None
        ours = totals_across_areas(
            areas=areas, insured_area=insured_area, uow=uow, caller=caller, period=period
        )
    return compare(ours, theirs)


def compare(ours: Totals, theirs: Totals) -> Statement:
    differences = []
    for name in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay"):
        mine, given = getattr(ours, name), getattr(theirs, name)
        if mine != given:
            differences.append(
                f"{name}: yibao {fen_to_yuan(mine)}, institution {fen_to_yuan(given)}"
            )
    if ours.count != theirs.count:
        differences.append(f"fixmedins_setl_cnt: yibao {ours.count}, institution {theirs.count}")
    return Statement(not differences, tuple(differences))


def totals(*, uow: UnitOfWork, caller: Caller, period: Period) -> Totals:
    """The institution's home settlements (its area's persons')."""
    row = uow.session.execute(
        select(
            func.coalesce(func.sum(Settlement.total_fen), 0),
            func.coalesce(func.sum(Settlement.fund_fen), 0),
            func.coalesce(func.sum(Settlement.personal_fen), 0),
            func.count(),
        ).where(
            Settlement.institution_id == caller.institution_id,
            Settlement.settled_on >= period.first,
            Settlement.settled_on <= period.last,
            Settlement.refunded_on.is_(None),
            Settlement.insutype == period.insutype,
            Settlement.clr_type == period.clr_type,
        )
    ).one()
    return Totals(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def totals_across_areas(
    *, areas: AreaDatabases, insured_area: str, uow: UnitOfWork, caller: Caller, period: Period
) -> Totals:
    """The institution's cross-area bills of `insured_area`'s persons, as its own area's book
    (`uow`) records what it is owed: what the institution was answered, a bill given back
    there counting nothing. That record keeps the bill's visit (its clr_type) but not the
    person's scheme: the insutype is the scheme on the bill's day in the insured area's
    database, as the settlement's answer read it there."""
    owed = _owed(uow, caller, insured_area, period)
    of_insutype = _refs_of_insutype(areas, insured_area, caller, period)
    counted = [amounts for ref, amounts in owed if ref in of_insutype]
    return Totals(
        sum(total for total, _, _ in counted),
        sum(fund for _, fund, _ in counted),
        sum(personal for _, _, personal in counted),
        len(counted),
    )


def _owed(
    uow: UnitOfWork, caller: Caller, insured_area: str, period: Period
) -> list[tuple[str, tuple[int, int, int]]]:
    """The institution's bills of the period and clr_type owed by `insured_area`, not given
    back: each one's reference and its total, fund and account amounts."""
    visits = [str(visit) for visit in Visit if clr_type_of(visit) == period.clr_type]
    of_visit: ColumnElement[bool] = InterAreaBill.visit.in_(visits)
    if str(Visit.PHARMACY) in visits:  # a record of no visit is a pharmacy's
        of_visit = or_(of_visit, InterAreaBill.visit.is_(None))
    rows = uow.session.execute(
        select(
            InterAreaBill.ref,
            InterAreaBill.total_fen,
            InterAreaBill.fund_fen,
            InterAreaBill.personal_fen,
        ).where(
            InterAreaBill.side == TREATING,
            InterAreaBill.other_area == insured_area,
            InterAreaBill.institution_code == caller.code,
            InterAreaBill.settled_on >= period.first,
            InterAreaBill.settled_on <= period.last,
            InterAreaBill.refunded_on.is_(None),
            of_visit,
        )
    ).all()
    return [(str(r[0]), (int(r[1]), int(r[2]), int(r[3]))) for r in rows]


def _refs_of_insutype(
    areas: AreaDatabases, insured_area: str, caller: Caller, period: Period
) -> set[str]:
    """The references of the institution's bills of the period whose person was, on the
    bill's day, in a scheme of the period's insutype: read in the insured area's records."""
    schemes = [str(scheme) for scheme in Scheme if insutype_of(scheme) == period.insutype]
    if not schemes:
        return set()
    scheme = scheme_on_column(person_id=InterAreaBill.person_id, day=InterAreaBill.settled_on)
    with areas.uow(insured_area) as uow:
        refs = uow.session.scalars(
            select(InterAreaBill.ref).where(
                InterAreaBill.side == INSURED,
                InterAreaBill.other_area == caller.area_code,
                InterAreaBill.institution_code == caller.code,
                InterAreaBill.settled_on >= period.first,
                InterAreaBill.settled_on <= period.last,
                scheme.in_(schemes),
            )
        ).all()
    return set(refs)
