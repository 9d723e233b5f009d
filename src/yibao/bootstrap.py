"""The one place that wires settings, storage and services together."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Engine

from yibao.adapters.db import check_connection, make_engine, upgrade_unless_current
from yibao.config import load_settings
from yibao.services import cards
from yibao.services.uow import UnitOfWork


class App:
    """What an entrypoint needs: the engine and a way to open units of work."""

    def __init__(self, engine: Engine, *, today: Callable[[], dt.date] = dt.date.today) -> None:
        self.engine = engine
        self.today = today  # tests fix the date; everything else reads the real one

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, today=self.today)

    @property
    def uow_factory(self) -> Callable[[], UnitOfWork]:
        return self.uow


def bootstrap(database_url: str | None = None, *, migrate: bool = True) -> App:
    """Open the configured database and bring its schema up to date."""
    settings = load_settings(database_url)
    cards.use_pin_pepper(settings.pin_pepper)
    pool = (
        {}
        if settings.database_url.startswith("sqlite")
        else {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow}
    )
    engine = make_engine(settings.database_url, **pool)
    check_connection(engine)
    if migrate:
        upgrade_unless_current(engine)
    return App(engine)
