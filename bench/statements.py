"""Yearly statements per second for a whole area, on PostgreSQL.

    .venv/bin/python bench/statements.py --db postgresql://postgres@127.0.0.1:5432/test \\
        --persons 10000

Works in its own schema (made once, reused afterwards): a demo city of N persons with a year of
monthly history, credited. Then times `write_statements` for that year (gathering, rendering the
PDFs, writing the files) and prints one JSON line; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from yibao.adapters.db import make_engine, make_engine_in_schema, upgrade
from yibao.bootstrap import App
from yibao.demo import credit_history, generate_city
from yibao.demo.city import count_persons
from yibao.domain.months import Month
from yibao.services.inquiry.statements import write_statements

AREA = "420100"
YEAR = 2023


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--schema", default="yibao_bench_statements")
    args = parser.parse_args()

    admin = make_engine(args.db, pool_size=1, max_overflow=0)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{args.schema}"')
    admin.dispose()
    engine = make_engine_in_schema(args.db, args.schema)
    upgrade(engine)
    app = App(engine)
    with app.uow() as uow:
        have = count_persons(uow=uow, area_code=AREA)
    if have < args.persons:
        log(f"making a city of {args.persons} persons with {YEAR}'s history ...")
        generate_city(engine=engine, persons=args.persons, start=Month(YEAR, 1), months=12)
        credit_history(uow_factory=app.uow, area_code=AREA, start=Month(YEAR, 1), months=12)
    with tempfile.TemporaryDirectory() as out:
        log("writing statements ...")
        started = time.perf_counter()
        written = write_statements(
            uow_factory=app.uow, area_code=AREA, year=YEAR, out_dir=Path(out)
        )
        seconds = time.perf_counter() - started
    engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(
        json.dumps(
            {
                "persons": written,
                "seconds": round(seconds, 2),
                "statements_per_s": round(written / seconds, 1),
                "peak_rss_mb": peak_mb,
            }
        )
    )


if __name__ == "__main__":
    main()
