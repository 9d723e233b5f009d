"""A crediting run killed with SIGKILL halfway, then run again, credits everything exactly once.

The run kills itself in the middle of a chosen batch (its transfers written, not committed),
so where it dies does not depend on how fast this machine is; a resumed run starts at that
batch.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from urllib.parse import quote

import pytest
import yaml
from sqlalchemy import Engine, func, insert, select

from tests.scenario_files import EXAMPLES
from yibao.adapters.tables import (
    Contribution,
    CreditingRun,
    CreditingRunRow,
    Enrollment,
    LedgerTransfer,
    Person,
)
from yibao.bootstrap import App
from yibao.domain.crediting import MedicalContribution, credit_for
from yibao.domain.idnumber import IdNumber, make_id_number
from yibao.domain.months import Month
from yibao.domain.schemes import Scheme
from yibao.ledger import bulk_posting
from yibao.ledger.check import check_ledger
from yibao.services.contributions import crediting
from yibao.services.registry import load_area, policy_schedule

PERSONS = 6000
MONTH = Month(2024, 3)
KILLED_IN_BATCH = 13  # of 50 contributions each: 12 batches are committed when it dies

# `yibao credit run`, whose run SIGKILLs itself inside batch KILLED_IN_BATCH, after the batch's
# transfers are written and before they are committed.
_DIES_IN_A_BATCH = f"""
import os, signal, sys
from yibao.entrypoints.cli.main import app
from yibao.services.contributions import crediting

count_in_run, batches = crediting._count_in_run, []

def count_then_die(uow, *args):
    batches.append(1)
    if len(batches) == {KILLED_IN_BATCH}:
        uow.session.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    count_in_run(uow, *args)

crediting._count_in_run = count_then_die
app(sys.argv[1:])
"""


def _url_of(engine: Engine) -> str:
    """A URL a subprocess can use to reach the same database (and schema) as `engine`."""
    if engine.dialect.name == "sqlite":
        return engine.url.render_as_string(hide_password=False)
    schema = engine.url.query.get("options") or _search_path(engine)
    return engine.url.set(query={}).render_as_string(hide_password=False) + (
        f"?options={quote(f'-csearch_path={schema}')}"
    )


def _search_path(engine: Engine) -> str:
    with engine.connect() as connection:
        return str(connection.exec_driver_sql("show search_path").scalar_one())


def _city(app: App) -> int:
    """PERSONS employees, each with one medical contribution for MONTH; returns the total credit."""
    area = yaml.safe_load((EXAMPLES / "05_spent_to_zero_then_refunded.yaml").read_text())["area"]
    with app.uow() as uow:
        load_area(uow=uow, document=area)
        policy = policy_schedule(uow=uow, area_code="420100").for_month(MONTH)
        numbers = [
            IdNumber(make_id_number("420102", dt.date(1960 + i % 40, 1 + i % 12, 1 + i % 28), i))
            for i in range(PERSONS)
        ]
        uow.session.execute(
            insert(Person),
            [
                {
                    "id": i + 1,
                    "id_number": n.value,
                    "name": f"P{i}",
                    "birth_date": n.birth_date,
                    "sex": n.sex,
                    "area_code": "420100",
                }
                for i, n in enumerate(numbers)
            ],
        )
        uow.session.execute(
            insert(Enrollment),
            [
                {
                    "person_id": i + 1,
                    "area_code": "420100",
                    "scheme": "employee",
                    "starts_on": dt.date(2024, 1, 1),
                }
                for i in range(PERSONS)
            ],
        )
        credits = [
            credit_for(
                MedicalContribution(MONTH, Scheme.EMPLOYEE, 500_000 + i), policy, n.birth_date
            )
            for i, n in enumerate(numbers)
        ]
        uow.session.execute(
            insert(Contribution),
            [
                {
                    "key": f"k{i}",
                    "person_id": i + 1,
                    "area_code": "420100",
                    "month": str(MONTH),
                    "through_month": str(MONTH),
                    "received_on": dt.date(2024, 3, 10),
                    "scheme": "employee",
                    "base_fen": 500_000 + i,
                    "insurances": "medical,pension",
                    "medical_employer_fen": 0,
                    "medical_person_fen": 0,
                    "credit_fen": credits[i],
                }
                for i in range(PERSONS)
            ],
        )
    return sum(credits)


def _credits(app: App) -> tuple[int, int]:
    with app.uow() as uow:
        count, total = uow.session.execute(
            select(func.count(), func.coalesce(func.sum(LedgerTransfer.amount_fen), 0)).where(
                LedgerTransfer.kind == "crediting"
            )
        ).one()
    return int(count), int(total)


def _credit_run(
    url: str, batch_size: int, *, errors: int = subprocess.PIPE, dies: bool = False
) -> subprocess.Popen[bytes]:
    command = ["-c", _DIES_IN_A_BATCH] if dies else ["-m", "yibao.entrypoints.cli.main"]
    return subprocess.Popen(
        [
            sys.executable,
            *command,
            "credit",
            "run",
            "--month",
            str(MONTH),
            "--batch-size",
            str(batch_size),
            "--db",
            url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=errors,
        env={**os.environ, "YIBAO_ENV": "development"},  # a test database, development keys
    )


@pytest.mark.slow
def test_a_run_killed_halfway_and_rerun_credits_every_contribution_once(app: App) -> None:
    expected_total = _city(app)
    url = _url_of(app.engine)
    run = _credit_run(url, batch_size=50, errors=subprocess.DEVNULL, dies=True)
    run.wait(timeout=120)
    assert run.returncode == -signal.SIGKILL
    halfway, _ = _credits(app)
    assert halfway == (KILLED_IN_BATCH - 1) * 50

    rerun = _credit_run(url, batch_size=1000)
    _, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr.decode()
    assert _credits(app) == (PERSONS, expected_total)

    again = _credit_run(url, batch_size=1000)
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr.decode()
    assert _credits(app) == (PERSONS, expected_total)
    with app.uow() as uow:
        assert check_ledger(uow.ledger) == []
        keys = uow.session.scalar(
            select(func.count(func.distinct(LedgerTransfer.key))).where(
                LedgerTransfer.kind == "crediting"
            )
        )
    assert keys == PERSONS


class _Crash(Exception):
    pass


def _killed_in_batch(app: App, monkeypatch: pytest.MonkeyPatch, number: int) -> None:
    """A run in batches of 50 that dies in its `number`th batch, before that batch commits."""
    post_batch, batches = crediting._post_batch, []

    def crash_in_a_batch(*args: object) -> tuple[int, int]:
        batches.append(1)
        if len(batches) == number:
            raise _Crash
        return post_batch(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(crediting, "_post_batch", crash_in_a_batch)
    with pytest.raises(_Crash):
        crediting.run_crediting(uow_factory=app.uow, area_code="420100", month=MONTH, batch_size=50)
    monkeypatch.undo()


def test_a_resumed_run_starts_at_its_first_unfinished_batch(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected_total = _city(app)
    _killed_in_batch(app, monkeypatch, KILLED_IN_BATCH)
    committed = (KILLED_IN_BATCH - 1) * 50
    with app.uow() as uow:
        run = uow.session.scalars(select(CreditingRun)).one()
        assert run.contributions_done_through == committed  # contribution ids are 1..PERSONS

    seen: list[tuple[int, int]] = []
    crediting.run_crediting(
        uow_factory=app.uow,
        area_code="420100",
        month=MONTH,
        batch_size=50,
        progress=lambda done, total: seen.append((done, total)),
    )

    assert seen[0] == (50, PERSONS - committed)  # the batches committed before are not read
    assert len(seen) == (PERSONS - committed) // 50
    assert _credits(app) == (PERSONS, expected_total)


def test_a_run_that_opens_many_accounts_refreshes_their_statistics(
    pg_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL plans the next run's account probes from these figures: left as they were
    before the accounts were opened, a 1M-person city's second run probed every account for
    each person (more than 12 minutes instead of seconds)."""
    _city(pg_app)
    monkeypatch.setattr(bulk_posting, "ANALYZE_AFTER_OPENING", PERSONS // 2)
    crediting.run_crediting(uow_factory=pg_app.uow, area_code="420100", month=MONTH)
    with pg_app.engine.connect() as connection:
        counted = connection.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE oid = 'ledger_account'::regclass"
        ).scalar_one()
    assert counted >= PERSONS  # the accounts opened are in the statistics


def _rows_kept(app: App) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(CreditingRunRow)) or 0)


def test_a_killed_runs_rows_are_found_again_and_forgotten_when_the_run_completes(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows a run keeps for its batches outlive a killed attempt; the resumed run finds
    them again (a row posted meanwhile is not read twice) and forgets them once done."""
    expected_total = _city(app)
    _killed_in_batch(app, monkeypatch, 3)
    assert _rows_kept(app) == PERSONS

    crediting.run_crediting(uow_factory=app.uow, area_code="420100", month=MONTH, batch_size=500)
    assert _rows_kept(app) == 0
    assert _credits(app) == (PERSONS, expected_total)
    with app.uow() as uow:
        assert check_ledger(uow.ledger) == []


def test_two_runs_of_one_month_at_once_credit_each_contribution_once(pg_app: App) -> None:
    """Two operators start the same month's run at the same moment (PostgreSQL, two clients):
    the second waits for the first's start, then both post; each key lands once, the ledger
    reconciles and no kept row is left behind."""
    expected_total = _city(pg_app)
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            crediting.run_crediting(
                uow_factory=pg_app.uow, area_code="420100", month=MONTH, batch_size=200
            )
        except BaseException as error:
            failures.append(error)

    workers = [threading.Thread(target=run) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert failures == []
    assert _credits(pg_app) == (PERSONS, expected_total)
    assert _rows_kept(pg_app) == 0
    with pg_app.uow() as uow:
        assert check_ledger(uow.ledger) == []
        run = uow.session.scalars(select(CreditingRun)).one()
        assert (run.credited_count, run.credited_fen) == (PERSONS, expected_total)


def _another_runs_row(app: App) -> None:
    """A row another run (of another area) keeps while it posts."""
    with app.uow() as uow:
        uow.session.execute(
            insert(CreditingRunRow).values(
                run_id=999_999,
                kind=crediting.CONTRIBUTION,
                batch=0,
                source_id=1,
                person_id=1,
                amount_fen=1,
                month=str(MONTH),
            )
        )


def test_a_completed_run_forgets_its_own_rows_only(app: App) -> None:
    """The whole table is emptied at once only when it holds the completed run's rows alone."""
    _city(app)
    _another_runs_row(app)
    crediting.run_crediting(uow_factory=app.uow, area_code="420100", month=MONTH, batch_size=500)
    with app.uow() as uow:
        assert uow.session.scalars(select(CreditingRunRow.run_id)).all() == [999_999]


def test_a_completed_run_does_not_wait_for_a_run_reading_the_rows(pg_app: App) -> None:
    """Another run holding the table (a batch reading its rows) is not waited for: the completed
    run deletes its own rows instead of emptying the table."""
    expected_total = _city(pg_app)
    done = threading.Event()
    with pg_app.engine.connect() as other:
        other.exec_driver_sql("SELECT count(*) FROM crediting_run_row")  # held until it ends
        worker = threading.Thread(
            target=lambda: (
                crediting.run_crediting(
                    uow_factory=pg_app.uow, area_code="420100", month=MONTH, batch_size=500
                ),
                done.set(),
            )
        )
        worker.start()
        worker.join(timeout=120)
        finished = done.is_set()
    worker.join(timeout=120)
    assert finished  # not waiting for the other transaction to end
    assert _rows_kept(pg_app) == 0
    assert _credits(pg_app) == (PERSONS, expected_total)
