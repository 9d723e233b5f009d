"""Benchmark: the balance explainer on persons with 20 years of monthly history.

    .venv/bin/python bench/explain.py --db postgresql://postgres@127.0.0.1:5432/test \
        [--persons 2000] [--samples 500] [--scheme employee] [--profile] [--plans]

Works in its own PostgreSQL schema (default `yibao_bench_explain`). The first run generates a
demo city of N persons with `--months` (240: 20 years) of monthly payments from `--start`
(2005-01) and runs every month-end crediting of that history; later runs reuse the city when it
holds the same number of persons and months. The demo area's policies start in 2015-01, so for an
earlier start a policy from `--start` (the 2015 rules on the bases of the time) is loaded first.

Then `--samples` calls of `explain_balance` are timed, each in its own unit of work (commit of
the inquiry log row included): a random person, a random channel, `as_of` a random day of the
last three months of the history. Prints ONE JSON line (persons, months_of_history, samples,
p50_ms, p99_ms, max_ms); progress, a breakdown by scheme, and with `--profile` / `--plans` the
cProfile top and the EXPLAIN ANALYZE of each statement go to stderr.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import datetime as dt
import io
import json
import math
import pstats
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, func, select

from schemas import bench_engine
from yibao.adapters.tables import CreditingRun, Person
from yibao.demo import (
    DEFAULT_AREA,
    area_document,
    city_span,
    count_persons,
    credit_history,
    generate_city,
)
from yibao.domain.months import Month
from yibao.services.audit import Actor
from yibao.services.inquiry.explain import CHANNELS, explain_balance
from yibao.services.registry import load_area
from yibao.services.uow import UnitOfWork

AREA = DEFAULT_AREA
RECENT_MONTHS = 3  # as_of falls in the last months of the history
WARMUP = 20
BENCH = Actor("bench", "operator")
BENCH_TABLES = (
    "person",
    "employment",
    "enrollment",
    "contribution",
    "ledger_account",
    "ledger_transfer",
    "card",
    "audit_entry",
)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    start = Month.parse(args.start)
    engine = _bench_city(args, start)
    last = start.plus(args.months - 1)
    persons = _persons(engine)
    if args.scheme:
        persons = [p for p in persons if p[1] == args.scheme]
        if not persons:
            raise SystemExit(f"no person of scheme {args.scheme!r} in the bench city")
    rng = random.Random(args.seed)
    first_day = last.plus(1 - RECENT_MONTHS).first_day
    days = (last.last_day - first_day).days + 1

    def one_call(person: tuple[str, str]) -> float:
        as_of = first_day + dt.timedelta(days=rng.randrange(days))
        channel = rng.choice(CHANNELS)
        began = time.perf_counter()
        with UnitOfWork(engine) as uow:
            explain_balance(uow=uow, id_number=person[0], as_of=as_of, channel=channel, actor=BENCH)
        return (time.perf_counter() - began) * 1000

    for person in rng.sample(persons, min(WARMUP, len(persons))):
        one_call(person)
    chosen = [rng.choice(persons) for _ in range(args.samples)]
    profiler = cProfile.Profile() if args.profile else None
    timings: list[float] = []
    by_scheme: dict[str, list[float]] = defaultdict(list)
    log(f"timing {args.samples} calls of explain_balance")
    with _counting_statements(engine) as statements:
        if profiler is not None:
            profiler.enable()
        for person in chosen:
            elapsed = one_call(person)
            timings.append(elapsed)
            by_scheme[person[1]].append(elapsed)
        if profiler is not None:
            profiler.disable()
    for scheme, values in sorted(by_scheme.items()):
        log(
            f"{scheme:>10}: {len(values):4d} calls, p50 {_percentile(values, 50):6.2f} ms, "
            f"p99 {_percentile(values, 99):6.2f} ms, max {max(values):6.2f} ms"
        )
    log(f"{statements[0] / max(args.samples, 1):.1f} SQL statements per call")
    if profiler is not None:
        _print_profile(profiler)
    if args.plans:
        _print_plans(engine, persons, last.last_day, rng)
    engine.dispose()
    result = {
        "persons": len(persons),  # sampled from (all the city's, unless --scheme)
        "months_of_history": args.months,
        "samples": args.samples,
        "p50_ms": round(_percentile(timings, 50), 2),
        "p99_ms": round(_percentile(timings, 99), 2),
        "max_ms": round(max(timings), 2),
    }
    print(json.dumps(result), flush=True)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--months", type=int, default=240, help="months of history (240: 20y)")
    parser.add_argument("--start", default="2005-01", help="first month of the history")
    parser.add_argument("--schema", default="yibao_bench_explain")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--scheme", help="sample only persons of this scheme (employee: 20 years of months)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile top to stderr")
    parser.add_argument("--plans", action="store_true", help="EXPLAIN ANALYZE to stderr")
    args = parser.parse_args(argv)
    if args.persons < 1 or args.samples < 1 or args.months < 1:
        parser.error("--persons, --samples and --months must be at least 1")
    return args


# -- the city ------------------------------------------------------------------------------
def _bench_city(args: argparse.Namespace, start: Month) -> Engine:
    """The bench schema with the city asked for: reused when it matches, else made afresh."""
    engine = bench_engine(args.db, args.schema)
    with UnitOfWork(engine) as uow:
        existing = count_persons(uow=uow, area_code=AREA)
        span = city_span(uow=uow, area_code=AREA) if existing else None
    wanted = (start, start.plus(args.months - 1))
    if existing and (existing, span) == (args.persons, wanted):
        log(f"reusing the city in schema {args.schema}: {existing} persons, {span}")
    else:
        if existing:
            log(f"schema {args.schema} holds {existing} persons over {span}: starting afresh")
            engine.dispose()
            engine = bench_engine(args.db, args.schema, fresh=True)
        _generate(engine, args, start)
    _credit_all(engine, start, args.months)
    with engine.begin() as connection:
        for table in BENCH_TABLES:
            connection.exec_driver_sql(f"ANALYZE {table}")
    return engine


def _generate(engine: Engine, args: argparse.Namespace, start: Month) -> None:
    document = area_document(AREA)
    first_policy = document["policies"][0]
    if start < Month.parse(first_policy["from"]):
        early = copy.deepcopy(first_policy)
        early["from"] = str(start)
        early["contribution_base"] = {"floor": 1500, "ceiling": 7500}  # the wages of 2005
        with UnitOfWork(engine) as uow:
            load_area(uow=uow, document={**document, "policies": [early]})
        log(f"loaded a policy from {start}: the demo area's own start at {first_policy['from']}")
    log(f"generating {args.persons} persons with {args.months} months from {start}")
    summary = generate_city(
        engine=engine,
        persons=args.persons,
        start=start,
        months=args.months,
        seed=args.seed,
        area_code=AREA,
        progress=_progress("generating"),
    )
    log(f"generated in {summary.seconds:.1f} s: {summary.persons_by_kind}, {summary.payments}")


def _credit_all(engine: Engine, start: Month, months: int) -> None:
    with UnitOfWork(engine) as uow:
        done = uow.session.scalar(
            select(func.count()).where(
                CreditingRun.area_code == AREA, CreditingRun.completed_at.is_not(None)
            )
        )
    if done == months:
        return
    log(f"crediting {months} months of history ({done} done already)")
    began = time.perf_counter()
    credit_history(
        uow_factory=lambda: UnitOfWork(engine),
        area_code=AREA,
        start=start,
        months=months,
        progress=_progress("crediting months"),
    )
    log(f"credited in {time.perf_counter() - began:.1f} s")


def _persons(engine: Engine) -> list[tuple[str, str]]:
    """(id number, scheme on the last day) of every person of the area."""
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT p.id_number, coalesce(("
            "  SELECT e.scheme FROM enrollment e WHERE e.person_id = p.id"
            "  ORDER BY e.starts_on DESC, e.id DESC LIMIT 1), 'none') "
            "FROM person p WHERE p.area_code = %(area)s ORDER BY p.id",
            {"area": AREA},
        ).all()
    return [(str(number), str(scheme)) for number, scheme in rows]


# -- measuring -----------------------------------------------------------------------------
def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@contextmanager
def _counting_statements(engine: Engine) -> Iterator[list[int]]:
    count = [0]

    def before(*_: Any) -> None:
        count[0] += 1

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _print_profile(profiler: cProfile.Profile) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(20)
    print(out.getvalue(), file=sys.stderr, flush=True)


def _print_plans(
    engine: Engine, persons: list[tuple[str, str]], as_of: dt.date, rng: random.Random
) -> None:
    """EXPLAIN ANALYZE of every statement explain_balance sends, for an employee."""
    employees = [p for p in persons if p[1] == "employee"] or persons
    id_number = rng.choice(employees)[0]
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with UnitOfWork(engine) as uow:
            explain_balance(uow=uow, id_number=id_number, as_of=as_of, channel="web", actor=BENCH)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    with engine.connect() as connection:
        person_id = connection.execute(
            select(Person.id).where(Person.id_number == id_number)
        ).scalar_one()
        log(f"plans for person {person_id} as of {as_of}")
        for statement, parameters in captured:
            plan = connection.exec_driver_sql(
                f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters
            ).all()
            print("\n" + statement, file=sys.stderr)
            for (line,) in plan:
                print("    " + line, file=sys.stderr)
        sys.stderr.flush()


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
