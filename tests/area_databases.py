"""Planning areas each in a database of its own, for the tests of YIBAO_AREA_DATABASES.

PostgreSQL: a database per area (CREATE DATABASE on the test server, dropped afterwards), so
nothing but yibao's router can join them. SQLite: a file per area.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import make_url

from tests.conftest import PG_URL, require_postgres
from yibao.adapters.db import make_engine


@contextmanager
def area_database_urls(
    backend: str, codes: tuple[str, ...], folder: Path
) -> Iterator[dict[str, str]]:
    """An empty database URL per area code, removed afterwards."""
    if backend == "sqlite":
        yield {code: f"sqlite:///{folder}/area-{code}.db" for code in codes}
        return
    require_postgres()
    prefix = f"yibao_areas_{uuid.uuid4().hex[:10]}"
    names = {code: f"{prefix}_{code}" for code in codes}
    admin = make_engine(PG_URL, pool_size=1, max_overflow=0, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for name in names.values():
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        base = make_url(PG_URL)
        yield {
            code: base.set(database=name).render_as_string(hide_password=False)
            for code, name in names.items()
        }
    finally:
        with admin.connect() as connection:
            for name in names.values():
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
