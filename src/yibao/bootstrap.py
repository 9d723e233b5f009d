"""The one place that wires settings, storage and services together."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from yibao.adapters.db import make_engine, upgrade_unless_current
from yibao.config import load_settings
from yibao.services.uow import UnitOfWork


class App:
    """What an entrypoint needs: the engine and a way to open units of work."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)

    @property
    def uow_factory(self) -> Callable[[], UnitOfWork]:
        return self.uow


def bootstrap(database_url: str | None = None, *, migrate: bool = True) -> App:
    """Open the configured database and bring its schema up to date."""
    settings = load_settings(database_url)
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade_unless_current(engine)
    return App(engine)
