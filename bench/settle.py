"""POS settlement throughput on PostgreSQL, compared with pgbench's tpcb-like run on the same box.

    .venv/bin/python bench/settle.py --db postgresql://postgres@127.0.0.1:5432/test \\
        --accounts 10000 --clients 32 --seconds 30

Works in its own schema (created, migrated and populated once, reused afterwards unless
`--fresh` drops it first): N persons
in the employee scheme with active cards, one PIN and credited personal accounts, a pharmacy and
two hospitals (levels 2 and 3) under a policy with a pooled fund. Then `--clients` threads call
`settlement.settle` as the API would, first with card + PIN (its keyed hash on every call), then
with electronic card payloads (no PIN), then a hospital mix with card + PIN: outpatient visits and
inpatient stays of `--hospital-patients` persons, where the pooled fund pays its share under
each patient's usage lock. Each client makes its requests (and the phones their electronic card
payloads) before the clock starts. pgbench runs against its own database before and after
each phase, in each of `--rounds` rounds: a phase's ratio is to the mean of the two pgbench
runs around it, and the medians are printed with each round's ratios and the share of CPU the
host took from this machine (steal) meanwhile. Where PostgreSQL is local, the CPU a sale costs
(yibao's processes and the server's, from /proc) is compared with a pgbench transaction's
(pgbench's and the server's): `cpu_ratio` is the rate ratio the CPU alone would allow, which a
host taking CPU away changes far less than the rates. Afterwards no personal account may be
below zero and no patient's fund payments of a year above the caps. Prints one JSON line on
stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import yaml
from sqlalchemy import Engine, String, Table, insert, literal, make_url, select, text
from sqlalchemy import cast as sql_cast

from yibao.adapters.db import make_engine, make_engine_in_schema, normalize_url, upgrade
from yibao.adapters.tables import Person
from yibao.bootstrap import App
from yibao.domain.errors import YibaoError
from yibao.domain.idnumber import IdNumber, make_id_number
from yibao.domain.pooled import Visit
from yibao.ledger import accounts, bulk_posting
from yibao.ledger.check import check_books
from yibao.ledger.pooled_usage import pooled_usage_problems
from yibao.services import cards, registry, settlement
from yibao.services.cards.electronic_card import electronic_card_payload
from yibao.services.settlement import CardAndPin, ElectronicCard, LineItem, SettleCmd
from yibao.services.uow import UnitOfWork

SCENARIOS = Path(__file__).resolve().parents[1] / "examples" / "scenarios"
AREA = "420100"
INSTITUTION = "P001"
PIN = "123456"
SECRET = "bench-secret"
OPENING_FEN = 500_000  # 5,000.00 yuan: runs of a few minutes never empty an account
DAY = dt.date(2024, 3, 1)
BATCH = 5_000
OUTPATIENT_CAP_FEN, INPATIENT_CAP_FEN = 200_000, 30_000_000
POOLED = {  # FORMAT.md's example block: what the pooled fund pays at hospitals
    "employee": {
        "outpatient": {"deductible": 200, "ratio": {"1": 0.70, "2": 0.60, "3": 0.50},
                       "annual_cap": OUTPATIENT_CAP_FEN // 100},
        "inpatient": {"deductible": {"1": 300, "2": 600, "3": 900},
                      "ratio": {"1": 0.92, "2": 0.88, "3": 0.85},
                      "annual_cap": INPATIENT_CAP_FEN // 100},
        "retiree_ratio_bonus": 0.05,
    }
}  # fmt: skip
HOSPITALS = (("H002", 2), ("H003", 3))
PREPARED_PER_SECOND = 150  # requests made ready per client and second of a phase


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the population ---------------------------------------------------------------------------
def open_schema(url: str, schema: str, clients: int, *, fresh: bool = False) -> Engine:
    admin = make_engine(url, pool_size=1, max_overflow=0)
    with admin.begin() as connection:
        if fresh:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    admin.dispose()
    engine = make_engine_in_schema(url, schema, pool_size=clients + 8, max_overflow=8)
    upgrade(engine)
    return engine


def transfers_per_account(engine: Engine) -> float:
    """The personal accounts' mean number of transfers: the history a reused schema has kept
    from former runs (a sale reads its balance from its account's row since migration 0029;
    before, it summed them all)."""
    with engine.connect() as connection:
        found = connection.execute(
            text(
                "SELECT ((SELECT count(*) FROM ledger_transfer t JOIN ledger_account a "
                "ON a.id = t.credit_account_id WHERE a.kind = 'personal') "
                "+ (SELECT count(*) FROM ledger_transfer t JOIN ledger_account a "
                "ON a.id = t.debit_account_id WHERE a.kind = 'personal'))::float "
                "/ greatest(count(*), 1) FROM ledger_account WHERE kind = 'personal'"
            )
        ).scalar_one()
    return round(float(found), 1)


def cardholders(engine: Engine, limit: int) -> list[tuple[int, str]]:
    """(person id, card number) of the bench's active cards, at most `limit`."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT person_id, card_no FROM card WHERE status = 'active' "
                "AND card_no LIKE 'B%' ORDER BY person_id LIMIT :limit"
            ),
            {"limit": limit},
        ).all()
    return [(int(r[0]), str(r[1])) for r in rows]


def populate(app: App, count: int) -> None:
    """Persons 0..count-1 with enrolment, active card, one PIN hash, credited account."""
    area = yaml.safe_load((SCENARIOS / "05_spent_to_zero_then_refunded.yaml").read_text())["area"]
    for policy in area["policies"]:
        policy["pooled"] = POOLED
    with app.uow() as uow:
        registry.load_area(uow=uow, document=area)
        registry.add_institution(
            uow=uow, code=INSTITUTION, name="Bench Pharmacy", kind="pharmacy", area_code=AREA
        )
        for code, level in HOSPITALS:
            registry.add_institution(
                uow=uow, code=code, name=f"Bench Hospital {code}", kind="hospital",
                area_code=AREA, level=level,
            )  # fmt: skip
        pool_id = uow.ledger.account_id(accounts.pooled_fund(AREA))
    with app.uow() as uow:
        start = int(uow.session.execute(text("SELECT count(*) FROM person")).scalar_one())
        for first in range(start, count, BATCH):
            uow.session.execute(insert(Person), _persons(first, min(first + BATCH, count)))
    with app.uow() as uow:
        for statement in _derived_rows():
            uow.session.execute(text(statement), {"area": AREA, "day": DAY})
        _set_pins(uow)
        _open_and_credit_accounts(uow, pool_id)


def _set_pins(uow: UnitOfWork) -> None:
    """Every new bench card's PIN, hashed as the service hashes it (its salt the card's number)."""
    new = uow.session.execute(text("SELECT id, card_no FROM card WHERE pin_hash IS NULL")).all()
    uow.session.execute(
        text("UPDATE card SET pin_hash = :pin_hash WHERE id = :id"),
        [{"id": card_id, "pin_hash": cards.hash_pin(PIN, card_no)} for card_id, card_no in new],
    )


def _open_and_credit_accounts(uow: UnitOfWork, pool_id: int) -> None:
    """Every person's personal account and opening credit, through the ledger's bulk posting."""
    person = cast(Table, Person.__table__)
    people = select(person.c.id)
    book = accounts.medical_book(AREA)
    bulk_posting.open_accounts(
        uow.session, book=book, kind=accounts.AccountKind.PERSONAL, owners=people
    )
    rows = select(
        literal("bench-opening:", String) + sql_cast(person.c.id, String),
        person.c.id,
        literal(OPENING_FEN),
        literal(DAY),
        literal("crediting", String),
        literal("bench opening balance", String),
    )
    bulk_posting.post_to_owners(
        uow.session,
        debit=accounts.pooled_fund(AREA),
        debit_id=pool_id,
        credit_kind=accounts.AccountKind.PERSONAL,
        rows=rows,
    )


def _persons(first: int, stop: int) -> list[dict[str, object]]:
    rows = []
    for i in range(first, stop):
        number = IdNumber(
            make_id_number("420102", dt.date(1950, 1, 1) + dt.timedelta(days=i // 1000), i)
        )
        rows.append(
            {
                "id_number": number.value,
                "name": f"Bench {i}",
                "birth_date": number.birth_date,
                "sex": number.sex,
                "area_code": AREA,
            }
        )
    return rows


def _derived_rows() -> list[str]:
    """Enrolment and card of every person lacking them."""
    return [
        "INSERT INTO enrollment (person_id, area_code, scheme, starts_on) "
        "SELECT p.id, :area, 'employee', :day FROM person p WHERE NOT EXISTS "
        "(SELECT 1 FROM enrollment e WHERE e.person_id = p.id)",
        "INSERT INTO card (card_no, person_id, status, issued_on, medical_activated_on, "
        "pin_hash, failed_pin_tries) "
        "SELECT 'B' || lpad(p.id::text, 10, '0'), p.id, 'active', :day, :day, NULL, 0 "
        "FROM person p WHERE NOT EXISTS (SELECT 1 FROM card c WHERE c.person_id = p.id)",
    ]


# -- the load ---------------------------------------------------------------------------------
@dataclass
class Phase:
    latencies_ms: list[float] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # yibao's processes (the clients' threads in them too)
    postgres_cpu_seconds: float = 0.0  # the server's processes, meanwhile

    @property
    def cpu_ms_per_sale(self) -> float:
        sales = len(self.latencies_ms)
        return (self.cpu_seconds + self.postgres_cpu_seconds) * 1000 / sales if sales else 0.0

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, q: int) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else 0.0
        return statistics.quantiles(self.latencies_ms, n=100)[q - 1]


Credential = Callable[[int, str], CardAndPin | ElectronicCard]


def card_and_pin(_person_id: int, card_no: str) -> CardAndPin:
    return CardAndPin(card_no, PIN)


def electronic_card(person_id: int, _card_no: str) -> ElectronicCard:
    now = dt.datetime.now(dt.UTC)  # made by the person's phone, before the POS call
    return ElectronicCard(
        electronic_card_payload(
            person_id=person_id, area_code=AREA, now=now, seconds=300, secret=SECRET
        )
    )


CREDENTIALS: dict[str, Credential] = {
    "card_and_pin": card_and_pin,
    "ecard": electronic_card,
    "hospital": card_and_pin,  # the hospital mix: visits and stays, card + PIN
}


def run_phase_in_processes(
    args: argparse.Namespace, holders: list[tuple[int, str]], credential: str
) -> Phase:
    """The clients split over `--processes` worker processes, as an API runs several workers."""
    if args.processes == 1:
        engine = open_schema(args.db, args.schema, args.clients)
        try:
            return run_phase(App(engine), holders, args.clients, args.seconds, credential)
        finally:
            engine.dispose()
    share = max(1, args.clients // args.processes)
    start_at = time.time() + 3  # every worker starts together, after connecting
    jobs = [(args.db, args.schema, holders, share, args.seconds, credential, start_at)] * (
        args.processes
    )
    with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
        parts = pool.starmap(_worker, jobs)
    total = Phase(
        seconds=max(part.seconds for part in parts),
        cpu_seconds=sum(part.cpu_seconds for part in parts),
        postgres_cpu_seconds=statistics.mean(part.postgres_cpu_seconds for part in parts),
    )  # each worker read the server's CPU over the same window
    for part in parts:
        total.latencies_ms.extend(part.latencies_ms)
        total.refusals.update(part.refusals)
        total.errors.update(part.errors)
    return total


def _worker(
    db: str,
    schema: str,
    holders: list[tuple[int, str]],
    clients: int,
    seconds: float,
    credential: str,
    start_at: float,
) -> Phase:
    engine = make_engine_in_schema(db, schema, pool_size=clients + 2, max_overflow=2)
    try:
        time.sleep(max(0.0, start_at - time.time()))
        return run_phase(App(engine), holders, clients, seconds, credential)
    finally:
        engine.dispose()


def run_phase(
    app: App, holders: list[tuple[int, str]], clients: int, seconds: float, mix: str
) -> Phase:
    phase, lock = Phase(), threading.Lock()
    credential = CREDENTIALS[mix]
    run = uuid.uuid4().hex[:10]
    barrier = threading.Barrier(clients + 1)

    def request(rng: random.Random, number: int, attempt: int) -> SettleCmd:
        """What the terminal sends (and, for an electronic card, what the phone showed)."""
        person_id, card_no = rng.choice(holders)
        institution, visit = _place(rng) if mix == "hospital" else (INSTITUTION, None)
        return SettleCmd(
            institution_code=institution,
            ref=f"{run}-{number}-{attempt}",
            credential=credential(person_id, card_no),
            lines=_lines(rng, visit),
            on=DAY,
            visit=visit,
        )

    def client(number: int) -> None:
        rng = random.Random(f"{run}:{number}")
        # The terminals' and the phones' work is done before the clock starts: it is not
        # yibao's, and in this process it would take CPU from the sales measured.
        prepared = [request(rng, number, n) for n in range(int(seconds * PREPARED_PER_SECOND))]
        prepared.reverse()
        barrier.wait()
        deadline = time.monotonic() + seconds
        attempt = len(prepared)
        while time.monotonic() < deadline:
            if prepared:
                cmd = prepared.pop()
            else:
                attempt += 1
                cmd = request(rng, number, attempt)
            started = time.perf_counter()
            outcome = _settle(app, cmd)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if outcome is None:
                    phase.latencies_ms.append(elapsed)
                elif outcome.startswith("error:"):
                    phase.errors[outcome[6:]] += 1
                else:
                    phase.refusals[outcome] += 1

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started, cpu, server = time.monotonic(), time.process_time(), postgres_cpu()
    for thread in threads:
        thread.join()
    phase.seconds = time.monotonic() - started
    phase.cpu_seconds = time.process_time() - cpu
    phase.postgres_cpu_seconds = postgres_cpu() - server
    return phase


def _place(rng: random.Random) -> tuple[str, Visit]:
    """Three outpatient visits for one inpatient stay, at either hospital."""
    code = rng.choice(HOSPITALS)[0]
    return code, Visit.INPATIENT if rng.random() < 0.25 else Visit.OUTPATIENT


def _lines(rng: random.Random, visit: Visit | None = None) -> tuple[LineItem, ...]:
    high = {None: 20_000, Visit.OUTPATIENT: 60_000, Visit.INPATIENT: 2_000_000}[visit]
    lines = [LineItem("DRUG", rng.randint(1, 3), rng.randint(500, high), True)]
    if rng.random() < 0.3:
        lines.append(LineItem("SELF-PAY", 1, rng.randint(100, 5_000), False))
    return tuple(lines)


def _settle(app: App, cmd: SettleCmd) -> str | None:
    """None when settled, else the refusal code (or `error:` and the exception's class)."""
    try:
        settlement.settle(
            uow_factory=app.uow, cmd=cmd, now=dt.datetime.now(dt.UTC), card_secret=SECRET
        )
    except YibaoError as refusal:
        return refusal.code
    except Exception as error:  # counted and reported: a benchmark must not stop on one
        return f"error:{type(error).__name__}"
    return None


# -- afterwards -------------------------------------------------------------------------------
def cap_overruns(app: App) -> int:
    """Patients whose fund payments of a year and visit kind, refunds taken back, exceed the cap;
    and any pooled usage row that is not what the settlements add up to."""
    with app.uow() as uow:
        over = uow.session.execute(
            text(
                "SELECT count(*) FROM (SELECT visit, sum(fund_fen) AS fund FROM settlement "
                "WHERE refunded_on IS NULL AND visit <> 'pharmacy' "
                "GROUP BY patient_person_id, extract(year FROM settled_on), visit) t "
                "WHERE (visit = 'outpatient' AND fund > :outpatient) "
                "OR (visit = 'inpatient' AND fund > :inpatient)"
            ),
            {"outpatient": OUTPATIENT_CAP_FEN, "inpatient": INPATIENT_CAP_FEN},
        ).scalar_one()
        usage = pooled_usage_problems(uow.session)
    for problem in usage[:10]:
        log(f"pooled usage: {problem.detail}")
    return int(over) + len(usage)


def audit(app: App) -> tuple[int, bool]:
    """(personal accounts below zero, ledger check passed)."""
    with app.uow() as uow:
        balances = uow.ledger.balances_by_account()
        overdrafts = sum(
            1
            for account in uow.ledger.accounts()
            if account.kind == str(accounts.AccountKind.PERSONAL)
            and balances.get(account.id, 0) < 0
        )
        problems = check_books(uow.ledger)  # the opening credits here have no contribution
    for problem in problems[:10]:
        log(f"ledger check: {problem.invariant}: {problem.detail}")
    return overdrafts, not problems


def pgbench_connection(url: str) -> list[str]:
    """pgbench's (and createdb's) host, port and user options for `url`."""
    parsed = make_url(normalize_url(url))
    return [
        "-h",
        parsed.host or "127.0.0.1",
        "-p",
        str(parsed.port or 5432),
        "-U",
        parsed.username or "postgres",
    ]


def pgbench_tps(url: str, database: str, clients: int, seconds: int) -> float:
    pgbench_init(url, database)
    return pgbench_measured(url, database, clients, seconds)[0]


def pgbench_init(url: str, database: str) -> None:
    conn = pgbench_connection(url)
    created = subprocess.run(["createdb", *conn, database], capture_output=True, text=True)
    if created.returncode != 0 and "already exists" not in created.stderr:
        raise RuntimeError(created.stderr)
    subprocess.run(
        ["pgbench", *conn, "-i", "-s", "10", "-q", database], check=True, capture_output=True
    )


def pgbench_measured(url: str, database: str, clients: int, seconds: int) -> tuple[float, float]:
    """(tps, CPU ms per transaction of pgbench and the server together)."""
    children, server = resource.getrusage(resource.RUSAGE_CHILDREN), postgres_cpu()
    result = subprocess.run(
        ["pgbench", *pgbench_connection(url), "-c", str(clients), "-j", "2", "-T", str(seconds),
         database],
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip
    found = re.search(
        r"tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)",
        result.stdout,
    )
    done = re.search(r"number of transactions actually processed: (\d+)", result.stdout)
    if found is None or done is None:
        raise RuntimeError(f"no tps in pgbench's output:\n{result.stdout}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    _wait_for_backends_to_end(url, database)
    cpu_ms = (client + postgres_cpu() - server) * 1000 / max(1, int(done.group(1)))
    return float(found.group(1)), cpu_ms


def _wait_for_backends_to_end(url: str, database: str) -> None:
    """pgbench's server processes are still ending when it exits; read before they have, the
    server's CPU missed up to a seventh of a pgbench transaction's (seen in session 13)."""
    query = f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}'"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = subprocess.run(
            ["psql", *pgbench_connection(url), "-Atc", query, "postgres"],
            capture_output=True, text=True,
        )  # fmt: skip
        if left.returncode or left.stdout.strip() == "0":
            break
        time.sleep(0.05)
    time.sleep(0.2)  # the postmaster collects what its ended children used


def postgres_cpu() -> float:
    """CPU seconds the local PostgreSQL's processes used so far, those that ended included (in
    their postmaster's children's times); 0 where /proc does not show them. With it a sale and
    a pgbench transaction are compared by the CPU they cost, which a host taking CPU away from
    this machine changes less than their rates."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text_ = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        name, fields = text_.split("(", 1)[1].rsplit(")", 1)[0], text_.rsplit(")", 1)[1].split()
        if name == "postgres":  # utime, stime; and cutime, cstime where they were reaped
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_stolen() -> tuple[int, int]:
    """(stolen, all) CPU ticks of this machine so far (Linux; zeros elsewhere): a virtual
    machine whose host takes its CPU away gives figures that say less, whatever the ratio."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:]]
    except OSError:
        return 0, 0
    return (ticks[7] if len(ticks) > 7 else 0), sum(ticks)


@dataclass
class Round:
    """One round: pgbench before and after each phase, for `--seconds` each; a phase's ratio is
    to the mean of the two pgbench runs around it, in the same minute."""

    phases: dict[str, Phase]
    tps_around: dict[str, tuple[float, float]]
    cpu_ms_around: dict[str, tuple[float, float]]  # per pgbench transaction, server included

    def tps(self, mix: str) -> float:
        return statistics.mean(self.tps_around[mix])

    def ratio(self, mix: str) -> float:
        return self.phases[mix].per_second / self.tps(mix)

    def cpu_ratio(self, mix: str) -> float:
        """The rate ratio the CPU alone allows: a pgbench transaction's CPU to a sale's."""
        return statistics.mean(self.cpu_ms_around[mix]) / self.phases[mix].cpu_ms_per_sale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--schema", default="yibao_bench_settle_pooled")
    parser.add_argument(
        "--hospital-patients",
        type=int,
        default=100,
        help="the hospital mix's patients: few, so their deductibles and caps are reached",
    )
    parser.add_argument("--pgbench-db", default="pgbench_yibao")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of every phase and pgbench, each ratio taken within its round; the "
        "medians are printed (a shared machine's speed changes from minute to minute)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="worker processes sharing the clients, as an API runs several workers. Default 1: "
        "where PostgreSQL shares the machine's cores, a sale's Python (a third of its CPU) fits "
        "in one process, and a second one takes the server's CPU away for nothing (measured on "
        "two cores: card + PIN at 0.55 of pgbench with two processes, 0.61 with one)",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="drop the schema first: the accounts start with their opening credit only, not "
        "with the sales of former runs",
    )
    args = parser.parse_args()

    engine = open_schema(args.db, args.schema, args.clients, fresh=args.fresh)
    app = App(engine)
    holders = cardholders(engine, args.accounts)
    if len(holders) < args.accounts:
        log(f"populating {args.accounts} cardholders in schema {args.schema} ...")
        populate(app, args.accounts)
        holders = cardholders(engine, args.accounts)
    pgbench_init(args.db, args.pgbench_db)
    history_before = transfers_per_account(engine)
    stolen_before = cpu_stolen()
    rounds = [_round(args, holders, number) for number in range(1, args.rounds + 1)]
    (stolen_after, ticks_after), (stolen_first, ticks_first) = cpu_stolen(), stolen_before
    stolen, ticks = stolen_after - stolen_first, ticks_after - ticks_first
    log("auditing the ledger ...")
    overdrafts, ledger_ok = audit(app)
    overruns = cap_overruns(app)
    history_after = transfers_per_account(engine)
    engine.dispose()
    result: dict[str, object] = {"processes": args.processes, "clients": args.clients}
    for mix, suffix in MIXES:
        merged = Phase()
        for one in rounds:
            merged.latencies_ms.extend(one.phases[mix].latencies_ms)
        result[f"settlements_per_s{suffix}"] = _median(r.phases[mix].per_second for r in rounds)
        result[f"p50_ms{suffix}"] = round(merged.percentile(50), 1)
        result[f"p99_ms{suffix}"] = round(merged.percentile(99), 1)
    everything = [phase for one in rounds for phase in one.phases.values()]
    result |= {
        "refusals": sum(phase.refusals.total() for phase in everything),
        "errors": sum(phase.errors.total() for phase in everything),
        "overdrafts": overdrafts,
        "cap_overruns": overruns,
        "ledger_check_passed": ledger_ok,
        "pgbench_tps": _median(
            tps for one in rounds for pair in one.tps_around.values() for tps in pair
        ),
        "rounds": args.rounds,
        "cpu_stolen_share": round(stolen / ticks, 3) if ticks else None,
        "transfers_per_account": [history_before, history_after],
    }
    for mix, suffix in MIXES:  # the median of the rounds' own ratios
        result[f"ratio{suffix}"] = _median((one.ratio(mix) for one in rounds), digits=4)
        result[f"ratios{suffix}"] = [round(one.ratio(mix), 4) for one in rounds]
        result[f"cpu_ms_per_sale{suffix}"] = _median(
            (one.phases[mix].cpu_ms_per_sale for one in rounds), digits=3
        )
        result[f"cpu_ratio{suffix}"] = _median((one.cpu_ratio(mix) for one in rounds), digits=4)
    result["cpu_ms_per_pgbench_transaction"] = _median(
        (cpu for one in rounds for pair in one.cpu_ms_around.values() for cpu in pair), digits=3
    )
    print(json.dumps(result))


MIXES = (("card_and_pin", ""), ("ecard", "_ecard"), ("hospital", "_hospital"))


def _round(args: argparse.Namespace, holders: list[tuple[int, str]], number: int) -> Round:
    phases, around, cpu_around = {}, {}, {}
    before, cpu_before = _pgbench(args, number)
    for mix, _ in MIXES:
        people = holders[: args.hospital_patients] if mix == "hospital" else holders
        log(f"round {number}: {mix}, {args.seconds} s ...")
        phase = phases[mix] = run_phase_in_processes(args, people, mix)
        sales = max(1, len(phase.latencies_ms))
        log(f"  {phase.per_second:.1f}/s, {phase.cpu_ms_per_sale:.3f} ms CPU a sale "
            f"(yibao {phase.cpu_seconds * 1000 / sales:.3f}, "
            f"server {phase.postgres_cpu_seconds * 1000 / sales:.3f}), "
            f"refusals {dict(phase.refusals)}, errors {dict(phase.errors)}")  # fmt: skip
        after, cpu_after = _pgbench(args, number)
        around[mix], cpu_around[mix] = (before, after), (cpu_before, cpu_after)
        before, cpu_before = after, cpu_after
    return Round(phases, around, cpu_around)


def _pgbench(args: argparse.Namespace, number: int) -> tuple[float, float]:
    tps, cpu_ms = pgbench_measured(args.db, args.pgbench_db, args.clients, args.seconds)
    log(f"round {number}: pgbench {tps:.1f} tps, {cpu_ms:.3f} ms CPU a transaction")
    return tps, cpu_ms


def _median(values: Iterable[float], digits: int = 1) -> float:
    return round(statistics.median(values), digits)


if __name__ == "__main__":
    main()
