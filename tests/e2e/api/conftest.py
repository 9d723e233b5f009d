"""The API tests share one city per backend and module: building it migrates and credits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import PG_URL, require_postgres
from tests.e2e.api.world import World, build_world
from yibao.adapters.db import scratch_database
from yibao.bootstrap import App


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    if request.param == "postgresql":
        require_postgres()
    with scratch_database(PG_URL if request.param == "postgresql" else None) as engine:
        world = build_world(App(engine))
        with world.client:
            yield world
