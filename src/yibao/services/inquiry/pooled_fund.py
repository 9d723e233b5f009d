"""What the pooled fund paid for a person's bills: a person whose account is 0 learns it too."""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import BindParameter, ColumnElement, Table, bindparam, func, or_, select

from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import Settlement
from yibao.services.uow import UnitOfWork

S = Settlement


def _kept_through(day: dt.date | ColumnElement[dt.date]) -> ColumnElement[bool]:
    """Settled by `day` and not refunded by then."""
    return or_(S.refunded_on.is_(None), S.refunded_on > day)


def fund_paid_by_patient(
    *, uow: UnitOfWork, low: int, high: int, first: dt.date, last: dt.date
) -> dict[int, int]:
    """Per patient id in [low, high]: the fund's part of their bills from `first` to `last`."""
    rows = uow.session.execute(
        select(S.patient_person_id, func.sum(S.fund_fen))
        .where(
            S.patient_person_id.between(low, high),
            S.settled_on.between(first, last),
            S.fund_fen > 0,
            _kept_through(last),
        )
        .group_by(S.patient_person_id)
    ).all()
    return {int(person): int(fen) for person, fen in rows}


_SETTLEMENTS = cast(Table, Settlement.__table__)
_FIRST: BindParameter[dt.date] = bindparam("first")
_AS_OF: BindParameter[dt.date] = bindparam("as_of")
_FUND_PAID_THIS_YEAR = HotStatement(
    select(func.coalesce(func.sum(_SETTLEMENTS.c.fund_fen), 0), func.count()).where(
        _SETTLEMENTS.c.patient_person_id == bindparam("person_id"),
        _SETTLEMENTS.c.settled_on.between(_FIRST, _AS_OF),
        _SETTLEMENTS.c.fund_fen > 0,
        _kept_through(_AS_OF),
    )
)


def fund_paid_this_year(*, uow: UnitOfWork, person_id: int, as_of: dt.date) -> tuple[int, int]:
    """(fen, bills): what the fund paid for the person's bills of `as_of`'s year so far."""
    row = _FUND_PAID_THIS_YEAR.one_or_none(
        uow.hot, {"person_id": person_id, "first": dt.date(as_of.year, 1, 1), "as_of": as_of}
    )
    assert row is not None  # an aggregate: one row
    return int(row[0]), int(row[1])
