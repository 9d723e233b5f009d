"""`yibao serve --workers 2` on PostgreSQL: /metrics sums what every worker process counted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from tests.e2e.api.test_ready_and_metrics import sample
from tests.e2e.api.test_serve import _first_answer, free_port

REQUESTS = 40


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_workers_metrics_are_summed_over_both_processes(
    empty_database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    folder = tmp_path / "metrics"
    server = subprocess.Popen(
        [sys.executable, "-m", "yibao.entrypoints.cli.main", "serve", "--port", str(port),
         "--workers", "2", "--db", empty_database_url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "YIBAO_ENV": "development", "YIBAO_DB_POOL_SIZE": "2",
             "PROMETHEUS_MULTIPROC_DIR": str(folder)},
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _first_answer(f"{base}/api/v1/ready")
        ready_before = sample(httpx2.get(f"{base}/metrics").text, "yibao_http_requests_total",
                              route="/api/v1/ready", status="200")  # fmt: skip
        for _ in range(REQUESTS):  # a new connection each: the kernel spreads them over both
            assert httpx2.get(f"{base}/api/v1/ready", timeout=5).status_code == 200
        scraped = httpx2.get(f"{base}/metrics", timeout=5)
        writers = {file.name.rsplit("_", 1)[1] for file in folder.glob("counter_*.db")}
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)

    assert scraped.status_code == 200, err
    counted = sample(scraped.text, "yibao_http_requests_total", route="/api/v1/ready", status="200")
    assert counted - ready_before == REQUESTS
    assert len(writers) >= 2, writers  # the workers (and the supervisor) write their own files
    # at rest every checkout has been checked in again, summed over the workers
    assert "yibao_db_pool_checked_out " in scraped.text
    assert sample(scraped.text, "yibao_db_pool_checked_out") == 0
