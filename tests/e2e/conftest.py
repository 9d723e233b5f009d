"""Fixtures for end-to-end tests."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import PG_URL
from tests.e2e.cli import make_city
from yibao.adapters.db import make_engine


@pytest.fixture(scope="session")
def city_made_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make_city`'s city, made through the CLI once per test process: four CLI runs."""
    return make_city(tmp_path_factory.mktemp("city"))


@pytest.fixture
def city(city_made_once: Path, tmp_path: Path) -> Path:
    """A SQLite city made through the CLI: area, employer, one registered employee. Each test
    has its own copy of the one made once (SQLite's backup API: a consistent copy)."""
    db = tmp_path / "city.db"
    with closing(sqlite3.connect(city_made_once)) as made, closing(sqlite3.connect(db)) as copy:
        made.backup(copy)
    return db


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database on `backend`: a SQLite file, or a new PostgreSQL schema."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'story.db'}"
        return
    schema = f"yibao_e2e_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL, pool_size=1, max_overflow=0)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
