"""`yibao serve` as a fault run drives it: started, its workers killed, stopped and started
again; PostgreSQL restarted under it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx2

from tests.e2e.api.test_serve import free_port
from tests.faults.city import TOKEN_KEY

RESTART_SECONDS = 30  # how long uvicorn's supervisor may take to replace a killed worker


class Served:
    """One `yibao serve --workers N` on a fixed port, restartable."""

    def __init__(self, url: str, port: int, workers: int, log: IO[bytes] | None = None) -> None:
        self.url, self.port, self.workers, self.log = url, port, workers, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "yibao.entrypoints.cli.main", "serve", "--db", self.url,
             "--port", str(self.port), "--workers", str(self.workers), "--log-level", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env={**os.environ, "YIBAO_ENV": "development", "YIBAO_TOKEN_SECRET": TOKEN_KEY},
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while len(self.worker_pids()) < self.workers or not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"yibao serve did not start (exit {self.process.poll()})")
            time.sleep(0.2)

    def stop(self) -> None:
        """A graceful stop (SIGTERM): requests in flight finish, then the workers exit."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        return sorted(_children(self.process.pid))

    def kill_worker(self, rng: random.Random) -> bool:
        """SIGKILL one worker, chosen by `rng`; True once the supervisor has replaced it."""
        pids = self.worker_pids()
        if not pids:
            return False
        victim = pids[rng.randrange(len(pids))]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + RESTART_SECONDS
        while time.monotonic() < deadline:
            now = self.worker_pids()
            if victim not in now and len(now) == self.workers and self._healthy():
                return True
            time.sleep(0.05)
        return False

    def _healthy(self) -> bool:
        try:
            answer = httpx2.get(f"http://127.0.0.1:{self.port}/api/v1/health", timeout=2)
        except httpx2.TransportError:
            return False
        return bool(answer.status_code == 200)


def _children(pid: int) -> list[int]:
    """The worker processes of uvicorn's supervisor `pid` (its children from /proc, less
    multiprocessing's resource tracker)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            try:
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(child)
            except OSError:
                continue
    return found


def postgres_version() -> str:
    """The PostgreSQL cluster version on this machine (the one directory of /etc/postgresql)."""
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir() if p.is_dir())
    if len(versions) != 1:
        raise RuntimeError(f"expected one PostgreSQL version in /etc/postgresql, found {versions}")
    return versions[0]


def restart_postgres(host: str, port: int, cluster: str = "main") -> float:
    """`pg_ctlcluster VERSION CLUSTER restart`, then wait until it accepts connections;
    seconds."""
    began = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", postgres_version(), cluster, "restart"], check=True, capture_output=True
    )
    deadline = time.monotonic() + 60
    while subprocess.run(
        ["pg_isready", "-h", host, "-p", str(port)], capture_output=True
    ).returncode:
        if time.monotonic() > deadline:
            raise RuntimeError("PostgreSQL did not come back within 60 s")
        time.sleep(0.1)
    return time.monotonic() - began


@contextmanager
def private_cluster() -> Iterator[tuple[str, str]]:
    """(URL, name) of a PostgreSQL cluster of its own on a free port, dropped afterwards: what
    a test restarts, so that the tests running beside it (another worker's) keep their server.
    Trust authentication on the loopback, as the machine's test server has."""
    version, name = postgres_version(), f"yibao_faults_{uuid.uuid4().hex[:8]}"
    port = free_port()
    subprocess.run(
        ["pg_createcluster", version, name, "--port", str(port), "--start", "--",
         "--auth=trust"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", name
    finally:
        subprocess.run(["pg_dropcluster", version, name, "--stop"], capture_output=True)
