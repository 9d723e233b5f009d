"""A crediting run killed with SIGKILL halfway, then run again, credits everything exactly once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from urllib.parse import quote

import pytest
import yaml
from sqlalchemy import Engine, func, insert, select

from tests.scenario_files import EXAMPLES
from yibao.adapters.tables import Contribution, Enrollment, LedgerTransfer, Person
from yibao.bootstrap import App
from yibao.domain.crediting import MedicalContribution, credit_for
from yibao.domain.idnumber import IdNumber, make_id_number
from yibao.domain.months import Month
from yibao.domain.schemes import Scheme
from yibao.ledger.check import check_ledger
from yibao.services.registry import load_area, policy_schedule

PERSONS = 6000
MONTH = Month(2024, 3)


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
    url: str, batch_size: int, *, errors: int = subprocess.PIPE
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "yibao.entrypoints.cli.main",
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
    run = _credit_run(url, batch_size=50, errors=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.poll() is None:
        done, _ = _credits(app)
        if done >= PERSONS // 10:
            os.kill(run.pid, signal.SIGKILL)
            break
        time.sleep(0.002)
    run.wait(timeout=60)
    assert run.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    halfway, _ = _credits(app)
    assert 0 < halfway < PERSONS

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
