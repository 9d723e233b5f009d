"""Where a month's crediting run of an area stands: what a caller polls while it runs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from yibao.adapters.tables import CreditingRun
from yibao.domain.months import Month
from yibao.services.contributions.crediting import require_month_ended
from yibao.services.registry import policy_schedule, require_area
from yibao.services.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class RunStanding:
    area_code: str
    month: str
    started_at: dt.datetime | None  # None: no run has started
    completed_at: dt.datetime | None
    credited_count: int  # by the batches committed so far, over every attempt
    credited_fen: int


def check_run(*, uow: UnitOfWork, area_code: str, month: Month) -> None:
    """Refuse before starting what `run_crediting` would refuse: an unknown area, a month
    that has not ended, a month before the area's first policy."""
    require_area(uow=uow, area_code=area_code)
    require_month_ended(month, uow.today())
    policy_schedule(uow=uow, area_code=area_code).for_month(month)


def run_standing(*, uow: UnitOfWork, area_code: str, month: Month) -> RunStanding:
    require_area(uow=uow, area_code=area_code)
    run = uow.session.scalars(
        select(CreditingRun).where(
            CreditingRun.area_code == area_code, CreditingRun.month == str(month)
        )
    ).one_or_none()
    if run is None:
        return RunStanding(area_code, str(month), None, None, 0, 0)
    return RunStanding(
        area_code,
        str(month),
        run.started_at,
        run.completed_at,
        int(run.credited_count or 0),
        int(run.credited_fen or 0),
    )
