"""Benchmark: one monthly crediting run over a demo city, against a plain INSERT ... SELECT.

    .venv/bin/python bench/crediting.py --persons 1000000 \
        --db postgresql://postgres@127.0.0.1:5432/test [--months 2]

Works in its own PostgreSQL schema (default `yibao_bench`). The first run generates a city of
N persons with `--months` months of contributions and credits every month but the last; later
runs reuse the city and add one more month. Then ONE crediting run of the pending month is timed
(credit_s), and so is inserting the same number of rows, with a plain INSERT ... SELECT, into a
fresh table shaped like ledger_transfer before it was partitioned (migration 0025: one plain
table, its key unique in it; bound_s: the cost of just writing those rows with their indexes).
Prints one JSON line; progress goes to stderr. `bound_fk_s` and `ratio_fk` repeat the bound
with the three foreign keys ledger_transfer had before migration 0006 on the copy;
`in_place_s` inserts the same rows (new keys, claimed in ledger_key) into ledger_transfer
itself, indexes at full size, and rolls back. `phases_s` splits credit_s by the run's
statements: finding the rows to credit with their accounts, cutting the batches, opening
accounts, ANALYZE, posting the batches, forgetting the rows; `rest` is commits and Python.
Each timed section starts after a CHECKPOINT.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from schemas import bench_engine
from yibao.demo import (
    city_span,
    count_persons,
    credit_history,
    extend_city,
    generate_city,
)
from yibao.domain.months import Month
from yibao.ledger import accounts
from yibao.services.contributions.crediting import BATCH_SIZE, run_crediting
from yibao.services.uow import UnitOfWork

AREA = "420100"
COPY_TABLE = "bench_transfer_copy"
ROWS_TABLE = "bench_transfer_rows"
TRANSFER_COLUMNS = (
    "key, book, debit_account_id, credit_account_id, amount_fen, value_date, kind, memo"
)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    engine = bench_engine(args.db, args.schema)
    with UnitOfWork(engine) as uow:
        existing = count_persons(uow=uow, area_code=AREA)
    if existing and existing != args.persons:
        log(f"schema {args.schema} holds {existing} persons, not {args.persons}: starting afresh")
        engine.dispose()
        engine = bench_engine(args.db, args.schema, fresh=True)
        existing = 0
    began = time.perf_counter()
    first, pending = _city_with_one_pending_month(engine, args, reuse=bool(existing))
    prepare_s = time.perf_counter() - began
    log(f"crediting the months before {pending}")
    with _statistics_kept_fresh(engine):
        credit_history(
            uow_factory=lambda: UnitOfWork(engine),
            area_code=AREA,
            start=first,
            months=pending.index - first.index,
            progress=_progress("crediting earlier months"),
        )
    _analyze(engine)
    _checkpoint(engine)
    log(f"timing the crediting run of {pending}")
    with _seconds_by_phase(engine) as phases:
        began = time.perf_counter()
        summary = run_crediting(
            uow_factory=lambda: UnitOfWork(engine),
            area_code=AREA,
            month=pending,
            batch_size=args.batch_size,
        )
        credit_s = time.perf_counter() - began
    phases["rest"] = credit_s - sum(phases.values())
    credited = summary.contributions_credited + summary.retirees_credited
    bound_s = _bound(engine, pending, credited)
    bound_fk_s = _bound(engine, pending, credited, foreign_keys=True)
    in_place_s = _bound_in_place(engine, pending)
    engine.dispose()
    result = {
        "persons": args.persons,
        "month": str(pending),
        "credited": credited,
        "credit_s": round(credit_s, 2),
        "bound_s": round(bound_s, 2),
        "ratio": round(credit_s / bound_s, 2),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "bound_fk_s": round(bound_fk_s, 2),
        "ratio_fk": round(credit_s / bound_fk_s, 2),
        "in_place_s": round(in_place_s, 2),
        "prepare_s": round(prepare_s, 1),
        "phases_s": {phase: round(seconds, 2) for phase, seconds in phases.items()},
    }
    print(json.dumps(result), flush=True)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--months", type=int, default=2, help="months of a new city (>= 1)")
    parser.add_argument("--start", default="2024-01", help="first month of a new city")
    parser.add_argument("--schema", default="yibao_bench")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    return parser.parse_args(argv)


def _city_with_one_pending_month(
    engine: Engine, args: argparse.Namespace, *, reuse: bool
) -> tuple[Month, Month]:
    """(first month, the month to time): a new city, or the reused one with one more month."""
    if not reuse:
        start = Month.parse(args.start)
        log(f"generating {args.persons} persons, {args.months} months from {start}")
        summary = generate_city(
            engine=engine,
            persons=args.persons,
            start=start,
            months=args.months,
            seed=args.seed,
            progress=_progress("generating"),
        )
        log(f"generated in {summary.seconds:.1f} s: {summary.payments}")
        return start, start.plus(args.months - 1)
    with UnitOfWork(engine) as uow:
        span = city_span(uow=uow, area_code=AREA)
    if span is None:
        raise SystemExit("the bench city has persons but no contributions: use a fresh --schema")
    if _credited(engine, span[1]):
        log(f"reusing the city; adding the payments of {span[1].plus(1)}")
        began = time.perf_counter()
        added, payments = extend_city(
            engine=engine, area_code=AREA, seed=args.seed, progress=_progress("adding a month")
        )
        log(f"added in {time.perf_counter() - began:.1f} s: {payments}")
        return span[0], added
    log(f"reusing the city; {span[1]} is still pending")
    return span


def _credited(engine: Engine, month: Month) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.exec_driver_sql(
                "SELECT count(*) FROM crediting_run WHERE area_code = %(area)s "
                "AND month = %(month)s AND completed_at IS NOT NULL",
                {"area": AREA, "month": str(month)},
            ).scalar()
        )


@contextmanager
def _statistics_kept_fresh(engine: Engine, every: float = 5.0) -> Iterator[None]:
    """ANALYZE the ledger tables every few seconds, as autovacuum would, while the untimed
    months are credited: a first run opens a personal account per person, and on a server with
    autovacuum off (like this one) its later batches would be planned on empty-table statistics.
    """
    with engine.connect() as connection:
        if connection.exec_driver_sql("SHOW autovacuum").scalar() == "off":
            log("autovacuum is off on this server: refreshing statistics while preparing")
    stop = threading.Event()

    def refresh() -> None:
        while not stop.wait(every):
            with engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE ledger_account")
                connection.exec_driver_sql("ANALYZE ledger_transfer")

    worker = threading.Thread(target=refresh, daemon=True)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join()


PHASES = (  # (what the statement holds, phase): the first that matches
    ("INSERT INTO crediting_run_row", "find_rows"),
    ("row_number()", "cut_batches"),
    ("INSERT INTO ledger_account", "open_accounts"),
    ("ANALYZE", "analyze"),
    ("INSERT INTO ledger_transfer", "post_batches"),
    ("DELETE FROM crediting_run_row", "forget_rows"),
)


@contextmanager
def _seconds_by_phase(engine: Engine) -> Iterator[dict[str, float]]:
    """Seconds the database spent on each phase's statements while the block ran."""
    seconds = {phase: 0.0 for _, phase in PHASES} | {"other": 0.0}

    def before(conn: Any, _cursor: Any, _statement: str, *_: Any) -> None:
        conn.info["bench_began"] = time.perf_counter()

    def after(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        phase = next((name for text, name in PHASES if text in statement), "other")
        seconds[phase] += time.perf_counter() - conn.info.pop("bench_began")

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seconds
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def _analyze(engine: Engine) -> None:
    """The tables as autovacuum would leave them after the load (untimed): their statistics,
    and their pages marked all-visible, so an index holding every column a query reads is read
    alone (the retirees' `ix_enrollment_scheme`). On a server with autovacuum off, like this
    one, nothing else would."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in ("contribution", "enrollment", "ledger_account", "ledger_transfer"):
            connection.exec_driver_sql(f"VACUUM (ANALYZE) {table}")


def _bound(engine: Engine, month: Month, credited: int, *, foreign_keys: bool = False) -> float:
    """Seconds to INSERT ... SELECT `credited` rows into a fresh copy of ledger_transfer.

    The copy has ledger_transfer's columns, defaults and checks, and the indexes of the one
    plain table it was before 0025 (primary key id, unique key and reverses_id, the two account
    indexes); with `foreign_keys` the three foreign keys it had before migration 0006 as well.
    """
    table = f"{COPY_TABLE}_fk" if foreign_keys else COPY_TABLE
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {ROWS_TABLE}")
        connection.exec_driver_sql(
            f"CREATE TABLE {table} (LIKE ledger_transfer INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        connection.exec_driver_sql(  # the table as it was before partitioning (0025)
            f"ALTER TABLE {table} ADD PRIMARY KEY (id), ADD UNIQUE (key), "
            f"ADD UNIQUE (reverses_id); CREATE INDEX ON {table} (credit_account_id); "
            f"CREATE INDEX ON {table} (debit_account_id)"
        )
        if foreign_keys:
            connection.exec_driver_sql(
                f"ALTER TABLE {table} "
                "ADD FOREIGN KEY (debit_account_id) REFERENCES ledger_account (id), "
                "ADD FOREIGN KEY (credit_account_id) REFERENCES ledger_account (id), "
                f"ADD FOREIGN KEY (reverses_id) REFERENCES {table} (id)"
            )
        connection.exec_driver_sql(
            f"CREATE TABLE {ROWS_TABLE} AS SELECT {TRANSFER_COLUMNS} FROM ledger_transfer "
            "WHERE book = %(book)s AND value_date = %(day)s "
            "AND kind IN ('crediting', 'retiree_crediting')",
            {"book": accounts.medical_book(AREA), "day": month.last_day},
        )
        connection.exec_driver_sql(f"ANALYZE {ROWS_TABLE}")
    _checkpoint(engine)
    began = time.perf_counter()
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"INSERT INTO {table} ({TRANSFER_COLUMNS}) SELECT {TRANSFER_COLUMNS} FROM {ROWS_TABLE}"
        )
    bound_s = time.perf_counter() - began
    with engine.connect() as connection:
        copied = connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
    if copied != credited:
        log(f"warning: the bound copied {copied} rows, the run posted {credited}")
    return bound_s


def _bound_in_place(engine: Engine, month: Month) -> float:
    """Seconds to INSERT ... SELECT the same rows (new keys) into ledger_transfer itself, with its
    constraints and its indexes at their full size, in a transaction then rolled back."""
    _checkpoint(engine)
    connection = engine.connect()
    try:
        transaction = connection.begin()
        began = time.perf_counter()
        connection.exec_driver_sql(
            f"WITH rows AS (SELECT nextval('ledger_transfer_id_seq') AS id, 'bench:' || key AS "
            f"new_key, * FROM {ROWS_TABLE}), claimed AS (INSERT INTO ledger_key "
            "(key, transfer_id, value_date) SELECT new_key, id, value_date FROM rows) "
            f"INSERT INTO ledger_transfer (id, {TRANSFER_COLUMNS}) "
            f"SELECT id, new_key, {TRANSFER_COLUMNS.split(', ', 1)[1]} FROM rows"
        )
        seconds = time.perf_counter() - began
        transaction.rollback()
    finally:
        connection.close()
    return seconds


def _checkpoint(engine: Engine) -> None:
    """Each timed section starts with no dirty pages left by the one before (the city's load,
    the run, the other bound): its own writes, not another's, fill the checkpoint it meets."""
    with engine.connect() as connection:
        connection.exec_driver_sql("CHECKPOINT")


def _progress(label: str) -> Callable[[int, int], None]:
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= 10 or done == total:
            last[0] = now
            log(f"{label}: {done:,}/{total:,}")

    return report


if __name__ == "__main__":
    main()
