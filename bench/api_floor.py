"""The framework's floor for bench/api.py: the same load, on the same population, against the
smallest FastAPI app that does a card sale's one statement and an audited read's two
(`bench/floor_app.py`), beside pgbench in the same run.

    .venv/bin/python bench/api_floor.py --db postgresql://postgres@127.0.0.1:5432/test \\
        --workers 2 --clients 32 --seconds 15

What it prints is the most any FastAPI route doing that work reaches on this machine: yibao's
routes also check the token and whether it was revoked, keep the Idempotency-Key's answer,
append a hash-chained audit entry and build the receipt or the explainer's answer. Compare its
`ratio` and `inquiry_p99_ms` with bench/api.py's and with #11's targets. Prints one JSON line;
progress goes to stderr.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx2
from sqlalchemy import text

from api import (
    INQUIRE_LUA,
    SETTLE_LUA,
    bench_city,
    cpu_seconds,
    free_port,
    per_request_ms,
    schema_url,
    served_bench_arguments,
    wrk,
)
from floor_app import READ_LOG
from settle import PIN, log, pgbench_tps

HERE = Path(__file__).parent


def start_floor(url: str, port: int, workers: int) -> subprocess.Popen[str]:
    uvicorn = Path(sys.executable).with_name("uvicorn")
    server = subprocess.Popen(
        [
            *(str(uvicorn), "floor_app:api", "--app-dir", str(HERE), "--port", str(port)),
            *("--workers", str(workers), "--log-level", "warning", "--no-access-log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "YIBAO_DATABASE_URL": url},
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx2.get(f"http://127.0.0.1:{port}/docs", timeout=2)
            return server
        except httpx2.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            error = server.stderr.read() if server.stderr else ""
            raise RuntimeError(f"the floor app did not start: {error}")
        time.sleep(0.3)


def main() -> None:
    parser = served_bench_arguments(__doc__, "yibao_bench_api", seconds_help="per phase")
    args = parser.parse_args()
    seconds = min(args.seconds, 20)
    engine, _, holders = bench_city(args)
    with engine.begin() as connection:
        connection.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {READ_LOG} (id bigserial PRIMARY KEY,"
                " id_number text NOT NULL, channel text NOT NULL,"
                " at timestamptz NOT NULL DEFAULT now())"
            )
        )
        persons = [
            str(row[0])
            for row in connection.execute(
                text("SELECT id_number FROM person ORDER BY id LIMIT :n"), {"n": args.accounts}
            )
        ]
    port = free_port()
    log(f"the floor app, {args.workers} uvicorn workers on port {port} ...")
    server = start_floor(schema_url(args.db, args.schema), port, args.workers)
    try:
        log(f"settlements, {seconds} s ...")
        before = cpu_seconds(server.pid)
        settle = wrk(
            port,
            SETTLE_LUA
            % {
                "cards": ",".join(f'"{card}"' for _, card in holders),
                "run": uuid.uuid4().hex[:8],
                "pin": PIN,
                "day": time.strftime("%Y-%m-%d"),
                "token": "none",
            },
            args.clients,
            seconds,
        )
        settle["cpu"] = cpu_seconds(server.pid) - before
        log(f"  {settle}; inquiries, {seconds} s ...")
        before = cpu_seconds(server.pid)
        inquire = wrk(
            port,
            INQUIRE_LUA % {"persons": ",".join(f'"{p}"' for p in persons), "token": "none"},
            args.clients,
            seconds,
        )
        inquire["cpu"] = cpu_seconds(server.pid) - before
        log(f"  {inquire}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
    engine.dispose()
    log("pgbench ...")
    tps = pgbench_tps(args.db, args.pgbench_db, args.clients, seconds)
    print(
        json.dumps(
            {
                "floor": True,
                "workers": args.workers,
                "clients": args.clients,
                "seconds": seconds,
                "settlements_per_s": round(settle["per_second"], 1),
                "settlement_p99_ms": settle["p99_ms"],
                "inquiries_per_s": round(inquire["per_second"], 1),
                "inquiry_p50_ms": inquire["p50_ms"],
                "inquiry_p99_ms": inquire["p99_ms"],
                "errors": int(settle["errors"] + inquire["errors"]),
                "server_cpu_ms_per_settlement": per_request_ms(settle),
                "server_cpu_ms_per_inquiry": per_request_ms(inquire),
                "pgbench_tps": round(tps, 1),
                "ratio": round(settle["per_second"] / tps, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
