"""A short fault run on PostgreSQL: yibao serve with two workers under a mixed load of retrying
clients, five worker kills, one PostgreSQL restart (with the month's crediting run started just
before it) and one stop and start of the server; the checker then finds no violation.

The long run is bench/faults.py. PostgreSQL's restart breaks every open connection of this
process too: the engines ping a pooled connection before lending it, so the tests after this
one find their pools sound.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.conftest import PG_URL, require_postgres
from tests.faults.harness import Plan, run


@pytest.mark.slow
def test_a_short_run_of_faults_leaves_no_violation(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    require_postgres()
    if shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        pytest.skip("restarting PostgreSQL needs pg_ctlcluster, run as root")
    log = tmp_path_factory.mktemp("faults") / "serve.log"
    with log.open("wb") as server_log:
        found = run(PG_URL, Plan(seed=15, kills=5, seconds=18, persons=3_000), server_log)
    print(json.dumps(found))
    assert found["violations"] == 0, found["violation_samples"]
    assert found["faults"]["worker_kill"] == 5
    assert found["faults"]["worker_replaced"] == 5  # uvicorn's supervisor replaced each one
    assert found["faults"]["postgres_restart"] == found["faults"]["serve_restart"] == 1
    assert found["acknowledged"] > 100
    assert found["crediting"]["starts"] >= 1  # and the checker found the run completed
    assert not found["server_errors"].get("500"), found["samples"]
