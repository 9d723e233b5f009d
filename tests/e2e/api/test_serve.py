"""`yibao serve` as a real process: it listens on its port, answers health, logs JSON lines
with ID numbers masked, and stops gracefully on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2

PERSON = "420102199003071232"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_yibao_serve_answers_health_and_logs_masked_json_lines(tmp_path: Path) -> None:
    port = free_port()
    db = f"sqlite:///{tmp_path / 'served.db'}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "yibao.entrypoints.cli.main",
            "serve",
            "--db",
            db,
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        health = _first_answer(f"{base}/health")
        unauthenticated = httpx2.get(f"{base}/persons/{PERSON}/inquiry", timeout=5)
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)

    assert health.status_code == 200, err
    assert health.json()["status"] == "ok"
    assert unauthenticated.status_code == 401
    # uvicorn ends by re-raising the signal it handled, once the shutdown is done
    assert server.returncode in (0, -signal.SIGTERM), err
    assert "Application shutdown complete" in err
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [line["status"] for line in lines] == [200, 401]
    assert PERSON not in out
    assert "4201**********1232" in lines[1]["path"]


def _first_answer(url: str) -> httpx2.Response:
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx2.get(url, timeout=5)
        except httpx2.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_serve_demo_is_refused_outside_development(tmp_path: Path) -> None:
    key = "k" * 40
    db = f"sqlite:///{tmp_path / 'yibao.db'}"
    refused = subprocess.run(
        [sys.executable, "-m", "yibao.entrypoints.cli.main", "serve", "--demo", "--db", db],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **os.environ,
            "YIBAO_ENV": "production",
            "YIBAO_CARD_SECRET": key,
            "YIBAO_PIN_PEPPER": key,
            "YIBAO_TOKEN_SECRET": key,
        },
    )

    assert refused.returncode == 2
    assert "--demo" in refused.stderr
    assert not (tmp_path / "yibao.db").exists()


def test_serve_outside_development_needs_a_real_token_key(tmp_path: Path) -> None:
    key = "k" * 40
    db = f"sqlite:///{tmp_path / 'yibao.db'}"
    refused = subprocess.run(
        [sys.executable, "-m", "yibao.entrypoints.cli.main", "serve", "--db", db],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **{k: v for k, v in os.environ.items() if k != "YIBAO_TOKEN_SECRET"},
            "YIBAO_ENV": "production",
            "YIBAO_CARD_SECRET": key,
            "YIBAO_PIN_PEPPER": key,
        },
    )

    assert refused.returncode == 2
    assert "YIBAO_TOKEN_SECRET" in refused.stderr


def test_serve_demo_serves_the_demo_city_with_the_printed_logins(tmp_path: Path) -> None:
    """The README's run command: a new database, the demo city loaded, one login per role
    printed, and each printed password logs in."""
    port = free_port()
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    command = ["serve", "--demo", "--db", db, "--port", str(port)]
    server = subprocess.Popen(
        [sys.executable, "-m", "yibao.entrypoints.cli.main", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "YIBAO_ENV": "development", "COLUMNS": "200"},
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        health = _first_answer(f"{base}/health")
        assert server.stdout is not None
        printed = ""
        while "demo-hotline" not in printed:  # the table is printed before the server starts
            printed += server.stdout.readline()
        logins = {
            cells[1]: cells[4]
            for cells in (line.split("│") for line in printed.splitlines())
            if len(cells) == 6 and cells[1].strip().startswith("demo-")
        }
        logins = {user.strip(): password.strip() for user, password in logins.items()}
        answers = {
            user: httpx2.post(
                f"{base}/auth/token", data={"username": user, "password": password}, timeout=10
            )
            for user, password in logins.items()
        }
        person = answers["demo-person"].json()["access_token"]
        me = httpx2.get(f"{base}/auth/me", headers={"Authorization": f"Bearer {person}"})
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)

    assert health.json() == {"status": "ok", "database": "sqlite", "replica": None}
    assert len(logins) == 8  # one per role
    assert all(answer.status_code == 200 for answer in answers.values()), answers
    assert me.status_code == 200, me.text
    assert me.json()["role"] == "person"
