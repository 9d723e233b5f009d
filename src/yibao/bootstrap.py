"""The one place that wires settings, storage and services together."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable

from sqlalchemy import Engine

from yibao.adapters.db import check_connection, make_engine, upgrade_unless_current
from yibao.adapters.replica import Replica
from yibao.config import Settings, load_settings
from yibao.domain.errors import InvalidInput
from yibao.services import cards
from yibao.services.areas import AreaDatabases
from yibao.services.uow import UnitOfWork


class App:
    """What an entrypoint needs: the engine and a way to open units of work."""

    def __init__(
        self,
        engine: Engine,
        *,
        today: Callable[[], dt.date] = dt.date.today,
        replica: Replica | None = None,
    ) -> None:
        self.engine = engine
        self.today = today  # tests fix the date; everything else reads the real one
        self.replica = replica  # where inquiries read, when it keeps up (UnitOfWork.reading)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, today=self.today, replica=self.replica)

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
    return App(engine, replica=_replica(settings, engine))


def _replica(settings: Settings, primary: Engine) -> Replica | None:
    """The configured streaming replica; one that is down now is used once it is back."""
    if not settings.replica_url:
        return None
    engine = make_engine(settings.replica_url, pool_pre_ping=True)
    return Replica(engine, primary=primary, max_lag_seconds=settings.replica_max_lag_seconds)


def area_databases(settings: Settings, *, migrate: bool = True) -> AreaDatabases | None:
    """Each planning area's database from YIBAO_AREA_DATABASES, opened and migrated."""
    if not settings.area_databases:
        return None
    try:
        urls = json.loads(settings.area_databases)
    except json.JSONDecodeError:
        urls = None
    if not isinstance(urls, dict) or not all(isinstance(url, str) for url in urls.values()):
        raise InvalidInput(
            "YIBAO_AREA_DATABASES", "(not shown)", 'must be a JSON map {"AREA": "URL", ...}'
        )
    apps: dict[str, App] = {}
    for area_code, url in urls.items():
        if not re.fullmatch(r"\d{6}", area_code):
            raise InvalidInput("YIBAO_AREA_DATABASES", area_code, "is not a 6-digit area code")
        engine = make_engine(url)
        check_connection(engine)
        if migrate:
            upgrade_unless_current(engine)
        apps[area_code] = App(engine)
    return AreaDatabases({code: app.uow for code, app in apps.items()})
