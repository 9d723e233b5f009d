"""Inquiries served by a streaming replica: the balance read there, the lag bounded and reported.

The test starts a physical standby of the test server with `scripts/replica.sh` (pg_basebackup
on a port of its own) and removes it afterwards. PostgreSQL only; without pg_basebackup it is
skipped, except in CI.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, make_url, select, text

from tests.conftest import PG_URL, require_postgres
from tests.integration.cards.cardholders import AREA, DAY, NOW, POOL, example_city, line
from yibao.adapters.db import make_engine_in_schema, scratch_database
from yibao.adapters.replica import Replica
from yibao.adapters.tables import AuditEntry
from yibao.bootstrap import App
from yibao.domain.idnumber import make_id_number
from yibao.entrypoints.api.routes.health import health
from yibao.ledger import accounts
from yibao.services import registry, settlement
from yibao.services.audit import Actor
from yibao.services.inquiry.explain import explain_balance
from yibao.services.settlement import IdentityCard, SettleCmd

SCRIPT = Path(__file__).parents[2] / "scripts" / "replica.sh"
REPLICA_PORT = os.environ.get("YIBAO_TEST_REPLICA_PORT", "5434")
BOUND_SECONDS = 1.0
CLERK = Actor(user="clerk", role="clerk")


def _run_script(command: str) -> None:
    primary = make_url(PG_URL)
    environment = os.environ | {
        "PRIMARY_HOST": primary.host or "127.0.0.1",
        "PRIMARY_PORT": str(primary.port or 5432),
        "REPLICA_PORT": REPLICA_PORT,
    }
    subprocess.run([str(SCRIPT), command], env=environment, check=True, capture_output=True)


@pytest.fixture(scope="module")
def replica_url() -> Iterator[str]:
    require_postgres()
    if shutil.which("pg_basebackup") is None and not os.environ.get("CI"):
        pytest.skip("pg_basebackup is not installed")
    if os.geteuid() != 0 and getpass.getuser() != "postgres" and not os.environ.get("CI"):
        pytest.skip("making a replica needs root or the postgres OS user")
    try:
        _run_script("setup")
        yield make_url(PG_URL).set(port=int(REPLICA_PORT)).render_as_string(hide_password=False)
    finally:
        _run_script("remove")


@pytest.fixture
def app(replica_url: str) -> Iterator[App]:
    """The app on a fresh schema of the primary, its inquiries read from the replica."""
    with scratch_database(PG_URL) as primary:
        with primary.connect() as connection:
            schema = str(connection.execute(text("SELECT current_schema()")).scalar_one())
        replica_engine = make_engine_in_schema(replica_url, schema, pool_size=2)
        replica = Replica(
            replica_engine, primary=primary, max_lag_seconds=BOUND_SECONDS, recheck_seconds=0
        )
        try:
            yield App(primary, replica=replica, today=lambda: DAY)
        finally:
            replica_engine.dispose()


def _wait_until(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.05)


def _sell(app: App, id_number: str, ref: str, fen: int) -> None:
    cmd = SettleCmd("P001", ref, IdentityCard(id_number), (line(fen),), DAY)
    settlement.settle(uow_factory=app.uow, cmd=cmd, now=NOW, card_secret="s")


def _inquire(app: App, id_number: str) -> tuple[int, str]:
    """The medical balance an inquiry answers, and where its reads went."""
    with app.uow() as uow:
        records, _ = explain_balance(
            uow=uow, id_number=id_number, as_of=DAY, channel="web", actor=CLERK
        )
    return records.medical_fen, uow.read_from


def _inquire_until_the_replica_serves(app: App, id_number: str) -> list[tuple[int, str]]:
    """Inquiries until one reads on the replica, every answer in order.

    Other tests write to the same server, and a long transaction of theirs can keep the replica
    behind the bound for a moment after it has replayed this test's sale: the read then goes to
    the primary, as it should, and the next one is asked.
    """
    answers = [_inquire(app, id_number)]
    deadline = time.monotonic() + 15.0
    while answers[-1][1] != "replica" and time.monotonic() < deadline:
        time.sleep(0.05)
        answers.append(_inquire(app, id_number))
    return answers


def _replay(replica: Replica, paused: bool) -> None:
    call = "pg_wal_replay_pause()" if paused else "pg_wal_replay_resume()"
    with replica.engine.connect() as connection:
        connection.execute(text(f"SELECT {call}"))


def _inquiries(engine: Engine) -> int:
    query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "inquiry")
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def test_a_balance_is_read_on_the_replica_and_a_lagging_replica_is_left_for_the_primary(
    app: App,
) -> None:
    replica = app.replica
    assert replica is not None
    example_city(app)
    id_number = make_id_number("420102", dt.date(1980, 4, 1), 31)
    with app.uow() as uow:
        person = registry.add_person(uow=uow, id_number=id_number, name="Qian Li", area_code=AREA)
        uow.ledger.transfer(
            key="credit:opening",
            debit=POOL,
            credit=accounts.personal_account(AREA, person.id),
            amount_fen=10_000,
            value_date=DAY,
            kind="crediting",
        )
    _sell(app, id_number, "R1", 3_000)

    # A sale on the primary is read through the replica once it has replayed it.
    _wait_until(lambda: (lag := replica.lag()) is not None and lag.bytes == 0)
    answers = _inquire_until_the_replica_serves(app, id_number)
    assert answers[-1] == (7_000, "replica")
    asked = len(answers)
    assert _inquiries(app.engine) == asked  # the reads' audit entries went to the primary

    # Replay paused: the replica falls behind, which is reported, and it serves while the lag
    # is within the bound (its answer is the older balance) and not beyond it.
    _replay(replica, paused=True)
    asked += 1
    try:
        _sell(app, id_number, "R2", 2_000)
        behind = replica.lag()
        assert behind is not None
        assert behind.bytes > 0
        if behind.within_bound:
            # Served by the replica (the older balance) unless the bound was crossed meanwhile.
            assert _inquire(app, id_number) in {(7_000, "replica"), (5_000, "primary")}
            asked += 1
        _wait_until(lambda: not replica.serves(), seconds=BOUND_SECONDS + 5)
        late = replica.lag()
        assert late is not None
        assert late.seconds > BOUND_SECONDS
        assert late.bytes > 0
        assert _inquire(app, id_number) == (5_000, "primary")
        reported = health(app).replica
        assert reported is not None
        assert not reported.serving
        assert reported.lag_bytes
    finally:
        _replay(replica, paused=False)

    # Caught up again, the replica serves the new balance.
    _wait_until(replica.serves)
    answers = _inquire_until_the_replica_serves(app, id_number)
    assert answers[-1] == (5_000, "replica")
    assert _inquiries(app.engine) == asked + len(answers)
    reported = health(app).replica
    assert reported is not None
    assert reported.serving
    assert reported.max_lag_seconds == BOUND_SECONDS
