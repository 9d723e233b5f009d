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
With `--reuse-schema` the populated `--schema` another bench left (bench/crediting.py's city)
is upgraded from the revision it is at, and kept. Since 0025 the table is tracked by its oid
(renamed ledger_transfer_history and attached as a partition); sizes sum the partitions.
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
    make_engine_in_schema,
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
    if args.reuse_schema:
        engine, start, steps, prepare_s, downgrade_s = _populated(args)
    else:
        engine, start, steps, prepare_s, downgrade_s = _generated(args)
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
    if not args.reuse_schema:
        drop_schema(args.db, args.schema)
    print(
        json.dumps(
            {
                "persons": args.persons,
                "from": start,
                **figures,
                "upgrade_s": round(sum(timings.values()), 2),
                "steps_s": timings,
                "ledger_transfer_rewritten": _rewritten(before, after),
                **_index_changes(before, after),
                "downgrade_s": round(downgrade_s, 2),
                "prepare_s": round(prepare_s, 1),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            }
        ),
        flush=True,
    )


def _generated(args: argparse.Namespace) -> tuple[Engine, str, list[str], float, float]:
    """A new city of `--persons`, credited, stepped down to `--from`."""
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
    return engine, start, steps, prepare_s, time.perf_counter() - began


def _populated(args: argparse.Namespace) -> tuple[Engine, str, list[str], float, float]:
    """The schema `--schema` as another bench left it (bench/crediting.py's city), upgraded
    from the revision it is at; kept afterwards."""
    engine = make_engine_in_schema(args.db, args.schema)
    with engine.connect() as connection:
        current = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        args.persons = connection.exec_driver_sql("SELECT count(*) FROM person").scalar()
    start, steps = _revisions_after(engine, str(current))
    return engine, start, steps, 0.0, 0.0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default="yibao_bench_migrations")
    parser.add_argument(
        "--from", dest="start_revision", default=None, help="revision to upgrade from"
    )
    parser.add_argument(
        "--reuse-schema",
        action="store_true",
        help="upgrade the populated --schema as it is (a bench city) and keep it",
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


def _files(engine: Engine) -> dict[str, tuple[int, int]]:
    """(oid, relfilenode) of ledger_transfer, of its partitions and of their indexes, by name.

    By oid, since 0025 renames the table and attaches it as a partition: it is rewritten if
    its oid has a new file afterwards.
    """
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "WITH tables AS (SELECT 'ledger_transfer'::regclass AS oid UNION ALL"
            " SELECT inhrelid FROM pg_inherits WHERE inhparent = 'ledger_transfer'::regclass)"
            " SELECT c.relname, c.oid, c.relfilenode FROM pg_class c"
            " WHERE c.oid IN (SELECT oid FROM tables)"
            " OR c.oid IN (SELECT indexrelid FROM pg_index"
            "              WHERE indrelid IN (SELECT oid FROM tables))"
        ).all()
    return {str(name): (int(oid), int(node)) for name, oid, node in rows}


def _rewritten(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> bool:
    oid, node = before["ledger_transfer"]
    return dict(after.values()).get(oid, node) != node


def _index_changes(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> dict[str, list[str]]:
    """Indexes (and tables) given a new file, built anew, or dropped by the upgrade."""
    now, then = dict(after.values()), dict(before.values())
    return {
        "indexes_rebuilt": sorted(
            name for name, (oid, node) in before.items() if now.get(oid, node) != node
        ),
        "built": sorted(name for name, (oid, _) in after.items() if oid not in then),
        "dropped": sorted(name for name, (oid, _) in before.items() if oid not in now),
    }


def _figures(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        transfers, table_bytes, index_bytes = connection.exec_driver_sql(
            "WITH parts AS (SELECT 'ledger_transfer'::regclass AS oid UNION ALL"
            " SELECT inhrelid FROM pg_inherits WHERE inhparent = 'ledger_transfer'::regclass)"
            " SELECT (SELECT count(*) FROM ledger_transfer),"
            " (SELECT sum(pg_table_size(oid)) FROM parts),"
            " (SELECT sum(pg_indexes_size(oid)) FROM parts)"
        ).one()
        key_bytes = connection.exec_driver_sql(
            "SELECT coalesce(pg_total_relation_size(to_regclass('ledger_key')), 0)"
        ).scalar()
    return {
        "ledger_key_mb": int(key_bytes or 0) // 2**20,
        "transfers": int(transfers),
        "ledger_transfer_mb": int(table_bytes) // 2**20,
        "ledger_transfer_indexes_mb": int(index_bytes) // 2**20,
    }


if __name__ == "__main__":
    main()
