"""Audit trail appends on PostgreSQL from many clients at once, and the verification after.

    .venv/bin/python bench/audit.py --db postgresql://postgres@127.0.0.1:5432/test \\
        --clients 32 --seconds 10

Works in a fresh schema of its own (dropped at the end). Each client thread appends one entry
per transaction for `--seconds`, first in a unit of work (a Session, as a refund or an API read
would), then statement by statement (as a POS sale does); with `--hold-ms` each transaction
stays open that long after its append, as a sale's would. Then `verify` walks every chain.
Prints one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import threading
import time
import uuid

from sqlalchemy import text

from yibao.adapters.db import make_engine, make_engine_in_schema, upgrade
from yibao.bootstrap import App
from yibao.domain.idnumber import make_id_number
from yibao.services import audit
from yibao.services.audit import Actor, AuditEvent

PERSON = make_id_number("420102", dt.date(1990, 3, 7), 123)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--hold-ms", type=float, default=0)
    args = parser.parse_args()
    schema = f"yibao_bench_audit_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.db, pool_size=1, max_overflow=0)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = make_engine_in_schema(args.db, schema, pool_size=args.clients + 2)
    try:
        upgrade(engine)
        app = App(engine)
        result: dict[str, object] = {"clients": args.clients, "hold_ms": args.hold_ms}
        for mode in ("unit_of_work", "statement_by_statement"):
            result[mode] = _run(app, mode, args.clients, args.seconds / 2, args.hold_ms / 1000)
        began = time.perf_counter()
        with app.uow() as uow:
            broken = audit.verify(uow=uow)
            entries = uow.session.execute(text("SELECT count(*) FROM audit_entry")).scalar_one()
        result["verify"] = {
            "entries": int(entries),
            "seconds": round(time.perf_counter() - began, 3),
            "ok": broken is None,
        }
        print(json.dumps(result))
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _run(app: App, mode: str, clients: int, seconds: float, hold: float) -> dict[str, object]:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    stop = time.perf_counter() + seconds

    def client(number: int) -> None:
        actor = Actor(f"client-{number}", "institution")
        event = AuditEvent(actor, "pos.settle", "pos", PERSON, f"sale:P001:{number}")
        try:
            while time.perf_counter() < stop:
                began = time.perf_counter()
                uow = app.uow()
                if mode == "statement_by_statement":
                    uow = uow.statement_by_statement()
                with uow:
                    audit.record(uow=uow, event=event)
                    if hold:
                        time.sleep(hold)
                latencies[number].append((time.perf_counter() - began) * 1000)
        except Exception as error:  # counted and reported, never hidden
            errors.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    every = sorted(x for per_client in latencies for x in per_client)
    return {
        "appends_per_s": round(len(every) / elapsed, 1),
        "p50_ms": round(statistics.median(every), 2) if every else None,
        "p99_ms": round(every[int(len(every) * 0.99) - 1], 2) if every else None,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


if __name__ == "__main__":
    main()
