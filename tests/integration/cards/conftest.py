"""Cards, the financial account and settlement share one database per backend per module.

Migrating a PostgreSQL schema for every test costs most of a second; these modules migrate
once and empty the tables before each test instead (services commit their own transactions,
so a test cannot run inside one rolled-back transaction).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.integration.cards.cardholders import emptied, example_city, shared_database
from yibao.bootstrap import App


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[Engine]:
    with shared_database(request.param) as engine:
        yield engine


@pytest.fixture
def app(database: Engine) -> App:
    return emptied(database)


@pytest.fixture
def city(app: App) -> App:
    example_city(app)
    return app
