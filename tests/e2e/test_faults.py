"""A short fault run on PostgreSQL: yibao serve with two workers under a mixed load of retrying
clients, five worker kills, one PostgreSQL restart (with the month's crediting run started just
before it) and one stop and start of the server; the checker then finds no violation.

The long run is bench/faults.py. The run has a PostgreSQL cluster of its own, made for it on a
free port and dropped afterwards: restarting the machine's server would break the connections
of the tests that another worker runs beside it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace

import pytest

from tests.conftest import require_postgres
from tests.faults.harness import Plan, run
from tests.faults.server import private_cluster


@pytest.mark.slow
def test_a_short_run_of_faults_leaves_no_violation(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    require_postgres()
    if shutil.which("pg_createcluster") is None or os.geteuid() != 0:
        pytest.skip("a PostgreSQL cluster of its own needs pg_createcluster, run as root")
    log = tmp_path_factory.mktemp("faults") / "serve.log"
    plan = Plan(seed=15, kills=5, seconds=18, persons=3_000)
    with private_cluster() as (url, cluster), log.open("wb") as server_log:
        found = run(url, replace(plan, cluster=cluster), server_log)
    print(json.dumps(found))
    assert found["violations"] == 0, found["violation_samples"]
    assert found["faults"]["worker_kill"] == 5
    assert found["faults"]["worker_replaced"] == 5  # uvicorn's supervisor replaced each one
    assert found["faults"]["postgres_restart"] == found["faults"]["serve_restart"] == 1
    assert found["acknowledged"] > 100
    assert found["crediting"]["starts"] >= 1  # and the checker found the run completed
    assert not found["server_errors"].get("500"), found["samples"]
