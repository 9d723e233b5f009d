"""One fault run: a fresh PostgreSQL schema with the city, `yibao serve --workers 2` over it,
the mixed load from client threads, a seeded schedule of faults, then the checker.

The schedule is a function of the seed alone: the moments of the worker kills (spread over the
run, each choosing the victim by its rank among the workers), the crediting run started and
PostgreSQL restarted under it, and the full stop and start of the server. Faults come one after
another: a kill waits until uvicorn's supervisor has replaced the worker (it does, in the
uvicorn installed: a worker that dies is started again), a late fault is done at once.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote

from sqlalchemy import make_url, text

from tests.e2e.api.test_serve import free_port
from tests.faults.checker import Limits, check
from tests.faults.city import (
    AREA,
    INTERRUPTED,
    OUTPATIENT_CAP_FEN,
    OUTPATIENT_DEDUCTIBLE_FEN,
    build_city,
)
from tests.faults.load import Clients
from tests.faults.server import Served, restart_postgres
from yibao.adapters.db import normalize_url, scratch_database
from yibao.bootstrap import App

RETRY_SECONDS = 90  # how long after the load a client may still retry for an answer


@dataclass(frozen=True)
class Plan:
    seed: int
    kills: int
    seconds: float  # of load, at least: faults that fall late stretch it
    clients: int = 6
    persons: int = 2_000
    workers: int = 2
    postgres_restarts: int = 1  # the first with the crediting run started just before it
    serve_restarts: int = 1
    cluster: str = "main"  # the PostgreSQL cluster (pg_ctlcluster's name) restarted

    def schedule(self) -> list[tuple[float, str]]:
        rng = random.Random(self.seed)
        events = [
            (rng.uniform(0.03, 0.97) * self.seconds, "worker_kill") for _ in range(self.kills)
        ]
        events += [
            ((i + 0.35) / self.postgres_restarts * self.seconds, "postgres_restart")
            for i in range(self.postgres_restarts)
        ]
        events += [
            ((i + 0.7) / self.serve_restarts * self.seconds, "serve_restart")
            for i in range(self.serve_restarts)
        ]
        return sorted(events)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(db_url: str, plan: Plan, server_log: IO[bytes] | None = None) -> dict[str, Any]:
    began = time.monotonic()
    with scratch_database(db_url) as engine:
        city = build_city(App(engine), plan.persons)
        log(f"city of {plan.persons} built in {time.monotonic() - began:.1f} s")
        schema = engine.url.query.get("options") or _search_path(engine)
        served = Served(_in_schema(db_url, schema), free_port(), plan.workers, server_log)
        served.start()
        try:
            found = _drive(served, city, plan, db_url)
        finally:
            served.stop()
        log(f"clients done after {time.monotonic() - began:.1f} s; checking ...")
        violations = check(
            engine,
            found.pop("outcomes"),
            limits=Limits(OUTPATIENT_DEDUCTIBLE_FEN, OUTPATIENT_CAP_FEN),
            credited=(AREA, INTERRUPTED),
        )
        engine.dispose()
    return {
        **found,
        "violations": len(violations),
        "violation_samples": violations[:10],
        "seconds": round(time.monotonic() - began, 1),
    }


def _drive(served: Served, city: Any, plan: Plan, db_url: str) -> dict[str, Any]:
    started = time.monotonic()
    clients = Clients(served.port, city, plan.seed, started + plan.seconds + RETRY_SECONDS)
    with _http(served.port) as http:
        clients.sign_in(http)
    threads = [
        threading.Thread(target=clients.client, args=(n,), name=f"client {n}", daemon=True)
        for n in range(plan.clients)
    ]
    for thread in threads:
        thread.start()
    faults: dict[str, Any] = {"worker_kill": 0, "worker_replaced": 0, "postgres_restart": 0,
                              "serve_restart": 0}  # fmt: skip
    crediting: dict[str, Any] = {}
    credit_thread = None
    victims = random.Random(plan.seed + 1)
    host, port = _host_port(db_url)
    for at, kind in plan.schedule():
        time.sleep(max(0.0, started + at - time.monotonic()))
        if kind == "worker_kill":
            faults["worker_replaced"] += served.kill_worker(victims)
        elif kind == "postgres_restart" and credit_thread is not None:
            restarted = restart_postgres(host, port, plan.cluster)
            faults["postgres_restart_seconds"] = round(
                faults["postgres_restart_seconds"] + restarted, 2
            )
        elif kind == "postgres_restart":
            ready, interrupt = threading.Event(), threading.Event()

            def credit(
                ready: threading.Event = ready, interrupt: threading.Event = interrupt
            ) -> None:
                crediting.update(clients.crediting(interrupt, ready))

            credit_thread = threading.Thread(target=credit, name="crediting", daemon=True)
            credit_thread.start()
            ready.wait(timeout=60)
            faults["postgres_restart_seconds"] = round(
                restart_postgres(host, port, plan.cluster), 2
            )
            interrupt.set()
        else:
            served.restart()
        faults[kind] += 1
        log(f"{time.monotonic() - started:6.1f} s {kind}")
    time.sleep(max(0.0, started + plan.seconds - time.monotonic()))
    load_seconds = time.monotonic() - started
    log(f"load done after {load_seconds:.1f} s: {faults}")
    clients.stopping.set()
    for thread in threads:
        thread.join()
    if credit_thread is not None:
        credit_thread.join(timeout=RETRY_SECONDS)
    tally = clients.tally
    acknowledged = sum(o.acknowledged for o in tally.outcomes)
    return {
        "seed": plan.seed,
        "load_seconds": round(load_seconds, 1),
        "clients": plan.clients,
        "workers": plan.workers,
        "requests": tally.requests,
        "attempts": tally.attempts,
        "acknowledged": acknowledged,
        "refused": sum(o.refused for o in tally.outcomes),
        "retried": tally.retried,
        "cut_attempts": tally.cut,
        "server_errors": dict(tally.server_errors),
        "by_kind": dict(tally.by_kind),
        "samples": tally.samples,
        "faults": faults,
        "crediting": crediting,
        "outcomes": tally.outcomes,
    }


def _http(port: int) -> Any:
    import httpx2

    return httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=20)


def _search_path(engine: Any) -> str:
    with engine.connect() as connection:
        return str(connection.execute(text("SELECT current_schema()")).scalar_one())


def _in_schema(url: str, schema: str) -> str:
    schema = schema.removeprefix("-csearch_path=")
    return f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={schema}')}"


def _host_port(url: str) -> tuple[str, int]:
    parsed = make_url(normalize_url(url))
    return parsed.host or "127.0.0.1", parsed.port or 5432
