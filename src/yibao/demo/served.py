"""The demo city as `yibao demo run` and a served demo load it: the synthetic city, the
showcase's records, a year of month-end crediting, then the showcase's sales."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from yibao.demo.area import DEFAULT_AREA
from yibao.demo.city import city_span, count_persons, generate_city
from yibao.demo.loading import Progress
from yibao.demo.overview import credit_history
from yibao.demo.showcase import SHOWCASE, DemoPerson
from yibao.demo.showcase_loading import (
    load_showcase_records,
    load_showcase_sales,
    showcase_loaded,
)
from yibao.domain.months import Month
from yibao.services.contributions.crediting import CreditingSummary
from yibao.services.uow import UnitOfWork

DEMO_START = Month(2022, 10)  # a year across the area's reform month (2023-02)
DEMO_MONTHS = 12


@dataclass(frozen=True, slots=True)
class DemoCity:
    area_code: str
    created: bool  # False: the area had persons already, and was only credited
    persons: int
    span: tuple[Month, Month] | None  # the months with contributions
    runs: tuple[CreditingSummary, ...]
    showcase: tuple[DemoPerson, ...]  # empty when the database holds no showcase


def load_demo_city(
    *,
    uow_factory: Callable[[], UnitOfWork],
    persons: int = 300,
    seed: int = 1,
    area_code: str = DEFAULT_AREA,
    generating: Progress | None = None,
    crediting: Progress | None = None,
) -> DemoCity:
    """Make the demo city in a migrated database whose area has nobody yet, or credit the one
    there; the same seed makes the same city. Returns who to log in as (`showcase`)."""
    with uow_factory() as uow:
        created = not count_persons(uow=uow, area_code=area_code)
        with_showcase = created and not showcase_loaded(uow=uow)
        engine = uow.engine
    if created:
        generate_city(
            engine=engine,
            persons=persons,
            start=DEMO_START,
            months=DEMO_MONTHS,
            seed=seed,
            area_code=area_code,
            progress=generating,
        )
    if with_showcase:
        load_showcase_records(uow_factory=uow_factory, area_code=area_code)
    with uow_factory() as uow:
        span = city_span(uow=uow, area_code=area_code)
    runs: list[CreditingSummary] = []
    if span is not None:
        months = span[1].index - span[0].index + 1
        runs = credit_history(
            uow_factory=uow_factory,
            area_code=area_code,
            start=span[0],
            months=months,
            progress=crediting,
        )
    if with_showcase:
        load_showcase_sales(uow_factory=uow_factory, institution_code=demo_pharmacy(area_code))
    with uow_factory() as uow:
        total = count_persons(uow=uow, area_code=area_code)
        shown = SHOWCASE if showcase_loaded(uow=uow) else ()
    return DemoCity(area_code, created, total, span, tuple(runs), shown)


def demo_pharmacy(area_code: str) -> str:
    """The first designated pharmacy of the synthetic city (`create_institutions`)."""
    return f"P{area_code}00001"
