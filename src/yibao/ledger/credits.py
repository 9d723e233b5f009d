"""Every contribution's stored credit recomputed from the policy of its month.

The credit posting is reconciled with `contribution.credit_fen`; this is what says that figure is
right: a credit_fen edited before the crediting run (the posting then follows it) or computed by a
bug would otherwise go unseen. The credit is recomputed with `credit_for`, the function
`record_contribution` uses, never a copy of it in SQL.

One aggregate reads the contributions with their holder's birth date: the credit depends on a
row only through its area, month, scheme, tier, base, insurances and the holder's age on the
first day of the month (`age_on`, mirrored in SQL by `age_in_sql`), so the rows collapse to a few
thousand groups computed once each. Only a group whose stored credit differs is read again, to
name its contributions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, and_, case, cast, extract, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from yibao.adapters.tables import Contribution, Person
from yibao.domain.crediting import MedicalContribution, credit_for
from yibao.domain.errors import InvalidInput
from yibao.domain.months import Month
from yibao.domain.policy import PolicySchedule
from yibao.domain.schemes import Scheme
from yibao.ledger.causes import policy_schedules
from yibao.ledger.problems import Problem

C = Contribution.__table__
P = Person.__table__

INVARIANT = "credit_follows_policy"


@dataclass(frozen=True, slots=True)
class _Group:
    """Contributions alike in everything their credit depends on, and in their stored credit."""

    area_code: str
    month: str
    scheme: str
    tier: str | None
    base_fen: int | None
    insurances: str
    age: int
    credit_fen: int


def recomputed_credits(session: Session) -> list[Problem]:
    """A contribution whose stored credit is not what the policy of its month gives."""
    schedules = policy_schedules(session)
    age = age_in_sql(C.c.month, P.c.birth_date).label("age")
    keys = (C.c.area_code, C.c.month, C.c.scheme, C.c.tier, C.c.base_fen, C.c.insurances)
    rows = session.execute(
        select(*keys, age, C.c.credit_fen)
        .join(P, P.c.id == C.c.person_id)
        .group_by(*keys, age, C.c.credit_fen)
    )
    expected: dict[tuple[Any, ...], int | str] = {}
    wrong: list[tuple[_Group, int | str]] = []
    for row in rows:
        group = _Group(
            str(row[0]), str(row[1]), str(row[2]), row[3], row[4], str(row[5]), int(row[6]),
            int(row[7]),
        )  # fmt: skip
        inputs = (group.area_code, group.month, group.scheme, group.tier, group.base_fen)
        key = (*inputs, group.insurances, group.age)
        if key not in expected:
            expected[key] = _credit(group, schedules)
        if expected[key] != group.credit_fen:
            wrong.append((group, expected[key]))
    named = sorted(
        (contribution_id, _detail(contribution_id, group, credit))
        for group, credit in wrong
        for contribution_id in _members(session, group)
    )
    return [Problem(INVARIANT, detail) for _, detail in named]


def _credit(group: _Group, schedules: Mapping[str, PolicySchedule]) -> int | str:
    """The credit `record_contribution` gives such a contribution, or why none can be computed."""
    if "medical" not in group.insurances.split(",") or group.scheme == Scheme.RETIREE:
        return 0
    schedule = schedules.get(group.area_code)
    if schedule is None:
        return f"area {group.area_code} has no policy"
    try:
        month = Month.parse(group.month)
        policy = schedule.for_month(month)
        contribution = MedicalContribution(
            month, Scheme(group.scheme), group.base_fen or 0, group.tier
        )
        return credit_for(contribution, policy, _born_aged(group.age, month.first_day))
    except (InvalidInput, ValueError) as error:
        return f"no credit can be computed ({error})"


def _born_aged(age: int, day: dt.date) -> dt.date:
    """A birth date that makes a person exactly `age` on `day` (a first of the month)."""
    return day.replace(year=day.year - age)


def age_in_sql(month: Any, birth_date: Any) -> ColumnElement[int]:
    """`age_on(birth_date, Month.parse(month).first_day)` in SQL, on both backends.

    The month is text ("YYYY-MM"); the birthday has come by the first of the month when
    (month, 1) >= (birth month, birth day).
    """

    def born(field: str) -> ColumnElement[int]:
        return cast(extract(field, birth_date), Integer)

    def of_month(start: int, length: int) -> ColumnElement[int]:
        return cast(func.substr(month, start, length), Integer)

    had_birthday = of_month(6, 2) * 100 + 1 >= born("month") * 100 + born("day")
    return of_month(1, 4) - born("year") - case((had_birthday, 0), else_=1)


def _members(session: Session, group: _Group) -> list[int]:
    """The ids of a group's contributions, read again only for a group found wrong."""
    rows = session.execute(
        select(C.c.id)
        .join(P, P.c.id == C.c.person_id)
        .where(
            and_(
                C.c.area_code == group.area_code,
                C.c.month == group.month,
                C.c.scheme == group.scheme,
                C.c.tier.is_not_distinct_from(group.tier),
                C.c.base_fen.is_not_distinct_from(group.base_fen),
                C.c.insurances == group.insurances,
                C.c.credit_fen == group.credit_fen,
                age_in_sql(C.c.month, P.c.birth_date) == group.age,
            )
        )
        .order_by(C.c.id)
    ).scalars()
    return [int(contribution_id) for contribution_id in rows]


def _detail(contribution_id: int, group: _Group, credit: int | str) -> str:
    stored = f"contribution {contribution_id} stores a credit of {group.credit_fen} fen"
    if isinstance(credit, str):
        return f"{stored}; {credit}"
    return f"{stored}; the policy of {group.month} gives {credit} fen"
