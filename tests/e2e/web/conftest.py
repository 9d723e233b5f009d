"""The web pages' tests share the API tests' city, one per backend and module."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PG_URL, require_postgres
from tests.e2e.api.world import PASSWORD, World, build_world
from yibao.adapters.db import scratch_database
from yibao.bootstrap import App

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    if request.param == "postgresql":
        require_postgres()
    with scratch_database(PG_URL if request.param == "postgresql" else None) as engine:
        world = build_world(App(engine))
        with world.client:
            yield world


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def logged_in(world: World, user: str) -> TestClient:
    """A browser of its own (its own cookies), logged in through the form."""
    client = TestClient(world.client.app, raise_server_exceptions=False)
    form = client.get("/login")
    answer = client.post(
        "/login",
        data={"username": user, "password": PASSWORD, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture
def browser_of(world: World) -> Callable[[str], TestClient]:
    return lambda user: logged_in(world, user)


def cells_of_row(html: str, marker: str) -> dict[str, str]:
    """The cells of the table row `<tr {marker}>`, by their data-part."""
    start = html.index(f"<tr {marker}>")
    row = html[start : html.index("</tr>", start)]
    return {part: text.strip() for part, text in re.findall(r'data-part="([^"]+)">([^<]*)<', row)}
