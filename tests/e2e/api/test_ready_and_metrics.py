"""Readiness (`/api/v1/ready`) and Prometheus metrics (`/metrics`) on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.e2e.api.test_endpoints import sale
from tests.e2e.api.world import INSIDE, World, settings_for
from yibao.adapters.db import downgrade, make_engine
from yibao.bootstrap import App
from yibao.entrypoints.api.app import create_app
from yibao.services.accounts import Role

API = "/api/v1"
INQUIRY_ROUTE = "/api/v1/persons/{id_number}/inquiry"


def loopback_client(world: World) -> TestClient:
    """A client that calls from 127.0.0.1, as a scraper on the server's own host does."""
    return TestClient(
        create_app(world.app, settings_for(world.app)),
        client=("127.0.0.1", 40000),
        raise_server_exceptions=False,
    )


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the text format, 0 if it is not there yet."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.rsplit(" ", 1)[0]))
            if all(found.get(key) == value for key, value in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_ready_answers_when_the_schema_is_at_the_head(world: World) -> None:
    answer = world.client.get(f"{API}/ready")

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "ready"


@pytest.fixture
def unmigrated(engine: Engine) -> Engine:
    """A database whose schema stops one migration before the head."""
    downgrade(engine, "-1")
    return engine


def test_ready_is_503_problem_json_while_a_migration_is_missing(unmigrated: Engine) -> None:
    app = App(unmigrated)
    with TestClient(create_app(app, settings_for(app))) as client:
        answer = client.get(f"{API}/ready")
        health = client.get(f"{API}/health")

    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "not_ready"
    assert "yibao db upgrade" in answer.json()["detail"]
    assert health.status_code == 200  # alive, only not ready


def test_ready_is_503_when_the_database_cannot_be_reached() -> None:
    nowhere = "postgresql://nobody@127.0.0.1:9/none"  # no server listens on port 9
    engine = make_engine(nowhere, connect_args={"connect_timeout": 2})
    app = App(engine)
    with TestClient(create_app(app, settings_for(app))) as client:
        answer = client.get(f"{API}/ready")

    assert answer.status_code == 503
    assert answer.json()["code"] == "not_ready"
    assert "cannot be reached" in answer.json()["detail"]


def test_metrics_are_not_shown_to_a_client_off_the_servers_host(world: World) -> None:
    answer = world.client.get("/metrics")

    assert answer.status_code == 404
    assert "yibao_" not in answer.text


def test_metrics_count_requests_by_route_template_and_settlements_by_outcome(
    world: World,
) -> None:
    scraper = loopback_client(world)
    before = scraper.get("/metrics").text
    world.client.get(f"{API}/persons/{INSIDE}/inquiry", headers=world.headers(Role.ADMIN))
    settled = world.client.post(
        f"{API}/pos/settlements",
        json=sale(uuid.uuid4().hex, "7.50"),
        headers=world.headers(Role.INSTITUTION, key=True),
    )
    refused = world.client.post(
        f"{API}/pos/settlements",
        json={**sale(uuid.uuid4().hex), "pin": "000000"},
        headers=world.headers(Role.INSTITUTION, key=True),
    )
    assert settled.status_code == 201, settled.text
    assert refused.status_code == 409, refused.text

    answer = scraper.get("/metrics")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    after = answer.text
    assert INSIDE not in after  # labelled by template, never by path

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("yibao_http_requests_total", route=INQUIRY_ROUTE, status="200") == 1
    assert grew("yibao_http_request_seconds_count", route=INQUIRY_ROUTE) == 1
    assert grew("yibao_settlements_total", channel="pos", outcome="settled") == 1
    assert grew("yibao_settled_fen_total", channel="pos") == 750
    assert grew("yibao_settlements_total", channel="pos", outcome=refused.json()["code"]) == 1
    assert "yibao_db_pool_checked_out" in after
    assert "yibao_crediting_runs_in_progress" in after


def test_metrics_can_be_turned_off(world: World) -> None:
    settings = settings_for(world.app).model_copy(update={"metrics": "off"})
    client = TestClient(create_app(world.app, settings), client=("127.0.0.1", 40000))

    assert client.get("/metrics").status_code == 404
