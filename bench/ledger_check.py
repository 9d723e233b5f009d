"""Benchmark: `yibao ledger check` over a bench city on PostgreSQL.

    .venv/bin/python bench/crediting.py --persons 1000000 --db postgresql://...   # makes the city
    .venv/bin/python bench/ledger_check.py --db postgresql://postgres@127.0.0.1:5432/test \\
        [--schema yibao_bench]

Times `check_ledger` over the schema bench/crediting.py fills (a city with its months of
contributions and crediting runs): the books' own invariants (`books_s`, the value-date replay
of every personal account among them) and the reconciliation of every posting with its cause
(`reconcile_s`). Prints one JSON line with the table sizes; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from sqlalchemy import Engine, text

from yibao.adapters.db import make_engine_in_schema, upgrade
from yibao.ledger.check import check_books
from yibao.ledger.reconcile import reconcile
from yibao.services.uow import UnitOfWork

TABLES = ("person", "contribution", "crediting_run", "ledger_account", "ledger_transfer")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default="yibao_bench")
    args = parser.parse_args(argv)
    if not args.schema.replace("_", "").isalnum():
        raise SystemExit(f"not a plain schema name: {args.schema!r}")
    engine = make_engine_in_schema(args.db, args.schema)
    upgrade(engine)  # the city may predate the newest migration
    sizes = _sizes(engine)
    if not sizes["ledger_transfer"]:
        raise SystemExit(f"schema {args.schema} holds no postings: run bench/crediting.py first")
    print(f"[bench] checking {sizes}", file=sys.stderr, flush=True)
    with UnitOfWork(engine) as uow:
        began = time.perf_counter()
        books = check_books(uow.ledger)
        books_s = time.perf_counter() - began
        causes = reconcile(uow.session)
        reconcile_s = time.perf_counter() - began - books_s
    engine.dispose()
    for problem in (books + causes)[:10]:
        print(f"[bench] {problem.invariant}: {problem.detail}", file=sys.stderr, flush=True)
    result = {
        **sizes,
        "books_s": round(books_s, 2),
        "reconcile_s": round(reconcile_s, 2),
        "check_s": round(books_s + reconcile_s, 2),
        "problems": len(books) + len(causes),
    }
    print(json.dumps(result), flush=True)


def _sizes(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in TABLES
        }


if __name__ == "__main__":
    main()
