"""Benchmark: the last migrations applied to a populated database, and whether they rewrite
the ledger.

    .venv/bin/python bench/migrations.py --persons 1000000 \
        --db postgresql://postgres@127.0.0.1:5432/test [--from 0018]

Works in its own PostgreSQL schema (default `yibao_bench_migrations`, made afresh and dropped
at the end): generates a city of N persons with two months of contributions, credits both (so
ledger_transfer holds a personal-account credit per person and month), steps the schema down
to `--from` (default: three migrations before the head), then times `alembic upgrade head`,
migration by migration. `ledger_transfer_rewritten` compares ledger_transfer's
pg_class.relfilenode before and after the upgrade: a migration that rewrote the table (a column
type change, a table-rewriting default) would give it a new file. `indexes_rebuilt` names the
ledger_transfer indexes that got a new file (0022 builds its two account indexes again).
Prints one JSON line; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from schemas import bench_engine, drop_schema
from yibao.adapters.db import (
    alembic_config,
    downgrade,
    upgrade,
)
from yibao.demo import credit_history, generate_city
from yibao.domain.months import Month
from yibao.services.uow import UnitOfWork

AREA = "420100"
START = Month.parse("2024-01")
MONTHS = 2


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    engine = _fresh_schema(args.db, args.schema)
    start, steps = _revisions_after(engine, args.start_revision)
    began = time.perf_counter()
    log(f"generating {args.persons:,} persons, {MONTHS} months from {START}")
    generate_city(engine=engine, persons=args.persons, start=START, months=MONTHS, seed=1)
    log("crediting both months")
    credit_history(
        uow_factory=lambda: UnitOfWork(engine), area_code=AREA, start=START, months=MONTHS
    )
    prepare_s = time.perf_counter() - began
    log(f"stepping down to {start}")
    began = time.perf_counter()
    downgrade(engine, start)
    downgrade_s = time.perf_counter() - began
    _analyze(engine)
    before = _files(engine)
    timings: dict[str, float] = {}
    for revision in steps:
        log(f"upgrading to {revision}")
        began = time.perf_counter()
        upgrade(engine, revision)
        timings[revision] = round(time.perf_counter() - began, 2)
    after = _files(engine)
    figures = _figures(engine)
    engine.dispose()
    drop_schema(args.db, args.schema)
    print(
        json.dumps(
            {
                "persons": args.persons,
                "from": start,
                **figures,
                "upgrade_s": round(sum(timings.values()), 2),
                "steps_s": timings,
                "ledger_transfer_rewritten": before["ledger_transfer"] != after["ledger_transfer"],
                "indexes_rebuilt": sorted(
                    name
                    for name in after
                    if name != "ledger_transfer" and before.get(name) != after[name]
                ),
                "downgrade_s": round(downgrade_s, 2),
                "prepare_s": round(prepare_s, 1),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            }
        ),
        flush=True,
    )


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default="yibao_bench_migrations")
    parser.add_argument(
        "--from", dest="start_revision", default=None, help="revision to upgrade from"
    )
    return parser.parse_args(argv)


def _fresh_schema(url: str, schema: str) -> Engine:
    if not url.startswith("postgres"):
        raise SystemExit("bench/migrations.py measures PostgreSQL: give --db postgresql://...")
    return bench_engine(url, schema, fresh=True)


def _revisions_after(engine: Engine, start: str | None) -> tuple[str, list[str]]:
    """`start` (default: three migrations before the head) and the revisions after it up to
    the head, oldest first."""
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    chain = [script.revision for script in scripts.walk_revisions()]  # head first
    if start is None:
        start = chain[3]
    if start not in chain:
        raise SystemExit(f"--from {start}: not a revision ({', '.join(chain[:6])}, ...)")
    return start, list(reversed(chain[: chain.index(start)]))


def _analyze(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE ledger_transfer")


def _files(engine: Engine) -> dict[str, int]:
    """relfilenode of ledger_transfer and of each of its indexes, by name."""
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT c.relname, c.relfilenode FROM pg_class c"
            " WHERE c.oid = 'ledger_transfer'::regclass"
            " OR c.oid IN (SELECT indexrelid FROM pg_index"
            "              WHERE indrelid = 'ledger_transfer'::regclass)"
        ).all()
    return {str(name): int(node) for name, node in rows}


def _figures(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        transfers, table_bytes, index_bytes = connection.exec_driver_sql(
            "SELECT (SELECT count(*) FROM ledger_transfer),"
            " pg_table_size('ledger_transfer'), pg_indexes_size('ledger_transfer')"
        ).one()
    return {
        "transfers": int(transfers),
        "ledger_transfer_mb": int(table_bytes) // 2**20,
        "ledger_transfer_indexes_mb": int(index_bytes) // 2**20,
    }


if __name__ == "__main__":
    main()
