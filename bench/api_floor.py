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
import sys
from pathlib import Path

from sqlalchemy import text

from api import (
    bench_city,
    free_port,
    id_numbers,
    inquire_script,
    per_request_ms,
    schema_url,
    served_bench_arguments,
    serving,
    settle_script,
    stop,
    wrk_measured,
)
from floor_app import READ_LOG
from settle import log, pgbench_tps

HERE = Path(__file__).parent


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
    persons = id_numbers(engine, args.accounts)
    port = free_port()
    log(f"the floor app, {args.workers} uvicorn workers on port {port} ...")
    uvicorn = Path(sys.executable).with_name("uvicorn")
    command = [str(uvicorn), "floor_app:api", "--app-dir", str(HERE), "--port", str(port)]
    command += ["--workers", str(args.workers), "--log-level", "warning", "--no-access-log"]
    environment = {"YIBAO_DATABASE_URL": schema_url(args.db, args.schema)}
    server = serving(command, environment, f"http://127.0.0.1:{port}/docs")
    try:
        log(f"settlements, {seconds} s ...")
        settle_load = settle_script(holders, "none")
        settle = wrk_measured(port, settle_load, args.clients, seconds, server)
        log(f"inquiries, {seconds} s ...")
        inquire_load = inquire_script(persons, "none")
        inquire = wrk_measured(port, inquire_load, args.clients, seconds, server)
    finally:
        stop(server)
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
