"""The one place that wires settings, storage and services together."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

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
        # One database per planning area (YIBAO_AREA_DATABASES): every area's units of work,
        # for what crosses areas, and (on the App `bootstrap` returns) each area's own App.
        self.areas: AreaDatabases | None = None
        self.area_apps: Mapping[str, App] = {}

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, today=self.today, replica=self.replica)

    @property
    def uow_factory(self) -> Callable[[], UnitOfWork]:
        return self.uow

    def in_area(self, area_code: str) -> App:
        """The App of the area's own database; this App where there is one database."""
        if not self.area_apps:
            return self
        found = self.area_apps.get(area_code)
        if found is None:
            known = ", ".join(sorted(self.area_apps))
            raise InvalidInput("area", area_code, f"has no database here (areas: {known})")
        return found

    def dispose(self) -> None:
        self.engine.dispose()
        for app in self.area_apps.values():
            app.engine.dispose()


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
    app = App(engine, replica=_replica(settings, engine))
    apps = area_apps(settings, migrate=migrate, **pool)
    if apps is not None:
        app.area_apps = apps
        app.areas = next(iter(apps.values())).areas
    return app


def _replica(settings: Settings, primary: Engine) -> Replica | None:
    """The configured streaming replica; one that is down now is used once it is back."""
    if not settings.replica_url:
        return None
    engine = make_engine(settings.replica_url, pool_pre_ping=True)
    return Replica(engine, primary=primary, max_lag_seconds=settings.replica_max_lag_seconds)


def area_databases(settings: Settings, *, migrate: bool = True) -> AreaDatabases | None:
    """Each planning area's database from YIBAO_AREA_DATABASES, opened and migrated."""
    apps = area_apps(settings, migrate=migrate)
    return None if apps is None else next(iter(apps.values())).areas


def area_apps(settings: Settings, *, migrate: bool = True, **pool: Any) -> dict[str, App] | None:
    """An App on each planning area's database (YIBAO_AREA_DATABASES), each knowing them all."""
    if not settings.area_databases:
        return None
    try:
        urls = json.loads(settings.area_databases)
    except json.JSONDecodeError:
        urls = None
    if (
        not isinstance(urls, dict)
        or not urls
        or not all(isinstance(url, str) for url in urls.values())
    ):
        raise InvalidInput(
            "YIBAO_AREA_DATABASES", "(not shown)", 'must be a JSON map {"AREA": "URL", ...}'
        )
    apps: dict[str, App] = {}
    for area_code, url in urls.items():
        if not re.fullmatch(r"\d{6}", area_code):
            raise InvalidInput("YIBAO_AREA_DATABASES", area_code, "is not a 6-digit area code")
        engine = make_engine(url, **({} if url.startswith("sqlite") else pool))
        check_connection(engine)
        if migrate:
            upgrade_unless_current(engine)
        apps[area_code] = App(engine)
    databases = AreaDatabases({code: app.uow for code, app in apps.items()})
    for app in apps.values():
        app.areas = databases
    return apps
