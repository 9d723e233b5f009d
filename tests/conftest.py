"""Fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL comes from YIBAO_TEST_PG_URL (default: the local server). Where it cannot be reached
the PostgreSQL cases are skipped, except in CI (CI is set), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from yibao.adapters.db import make_engine, scratch_database
from yibao.bootstrap import App

PG_URL = os.environ.get("YIBAO_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_problem() -> str | None:
    try:
        engine = make_engine(PG_URL, pool_size=1, max_overflow=0)
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception as error:  # any failure to connect means "no PostgreSQL here"
        return f"PostgreSQL at {PG_URL} is not reachable: {error}"
    return None


_PG_PROBLEM = _postgres_problem()


def require_postgres() -> None:
    if _PG_PROBLEM is None:
        return
    if os.environ.get("CI"):
        pytest.fail(_PG_PROBLEM)
    pytest.skip(_PG_PROBLEM)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        require_postgres()
    return str(request.param)


@pytest.fixture
def engine(backend: str) -> Iterator[Engine]:
    """A fresh migrated database on the backend: a SQLite file or a PostgreSQL schema."""
    with scratch_database(PG_URL if backend == "postgresql" else None) as scratch:
        yield scratch


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    require_postgres()
    with scratch_database(PG_URL) as scratch:
        yield scratch


@pytest.fixture
def app(engine: Engine) -> App:
    return App(engine)


@pytest.fixture
def pg_app(pg_engine: Engine) -> App:
    return App(pg_engine)
