"""3201: the institution's totals for some days against yibao's, settlement by settlement;
cancelled and reversed settlements (refunded) count in neither."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from yibao.adapters.tables import Settlement
from yibao.domain.money import fen_to_yuan
from yibao.services.national.gateway import Caller
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


def reconcile(
    *,
    uow: UnitOfWork,
    caller: Caller,
    insutype: str,
    clr_type: str,
    first: dt.date,
    last: dt.date,
    theirs: Totals,
) -> Statement:
    ours = totals(
        uow=uow, caller=caller, insutype=insutype, clr_type=clr_type, first=first, last=last
    )
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


def totals(
    *, uow: UnitOfWork, caller: Caller, insutype: str, clr_type: str, first: dt.date, last: dt.date
) -> Totals:
    row = uow.session.execute(
        select(
            func.coalesce(func.sum(Settlement.total_fen), 0),
            func.coalesce(func.sum(Settlement.fund_fen), 0),
            func.coalesce(func.sum(Settlement.personal_fen), 0),
            func.count(),
        ).where(
            Settlement.institution_id == caller.institution_id,
            Settlement.settled_on >= first,
            Settlement.settled_on <= last,
            Settlement.refunded_on.is_(None),
            Settlement.insutype == insutype,
            Settlement.clr_type == clr_type,
        )
    ).one()
    return Totals(int(row[0]), int(row[1]), int(row[2]), int(row[3]))
