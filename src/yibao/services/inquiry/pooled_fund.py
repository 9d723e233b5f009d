"""What the pooled fund paid for a person's bills: a person whose account is 0 learns it too."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, func, or_, select

from yibao.adapters.tables import Settlement
from yibao.services.uow import UnitOfWork

S = Settlement


def _kept_through(day: dt.date) -> ColumnElement[bool]:
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


def fund_paid_this_year(*, uow: UnitOfWork, person_id: int, as_of: dt.date) -> tuple[int, int]:
    """(fen, bills): what the fund paid for the person's bills of `as_of`'s year so far."""
    fen, bills = uow.session.execute(
        select(func.coalesce(func.sum(S.fund_fen), 0), func.count()).where(
            S.patient_person_id == person_id,
            S.settled_on.between(dt.date(as_of.year, 1, 1), as_of),
            S.fund_fen > 0,
            _kept_through(as_of),
        )
    ).one()
    return int(fen), int(bills)
