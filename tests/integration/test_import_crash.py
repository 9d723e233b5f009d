"""A contributions import killed with SIGKILL halfway leaves nothing behind; run again, it
records every row once, and a third run finds the file imported before.

The import kills itself while writing its second chunk (the first chunk's contributions and
transfers written, nothing committed), so where it dies does not depend on this machine's speed.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml
from sqlalchemy import func, select

from tests.integration.test_crediting_crash import _url_of
from tests.scenario_files import EXAMPLES
from yibao.adapters.tables import Contribution, LedgerTransfer
from yibao.bootstrap import App
from yibao.domain.idnumber import make_id_number
from yibao.ledger.check import check_ledger
from yibao.services import registry

PERSONS = 120
CHUNK = 40  # rows judged and written at a time, instead of 50,000: three chunks
KILLED_IN_CHUNK = 2

# `yibao import contributions`, whose import SIGKILLs itself once chunk KILLED_IN_CHUNK's
# contributions and transfers are written, before anything is committed.
_DIES_IN_A_CHUNK = f"""
import os, signal, sys
from yibao.entrypoints.cli.main import app
from yibao.services.imports import contribution_rows

contribution_rows.CHUNK = {CHUNK}
apply, chunks = contribution_rows._apply, []

def apply_then_die(uow, connection):
    apply(uow, connection)
    chunks.append(1)
    if len(chunks) == {KILLED_IN_CHUNK}:
        uow.session.flush()
        os.kill(os.getpid(), signal.SIGKILL)

contribution_rows._apply = apply_then_die
app(sys.argv[1:])
"""


def _city(app: App) -> list[str]:
    """PERSONS employees of one employer, registered in January 2024."""
    area = yaml.safe_load((EXAMPLES / "01_medical_left_out.yaml").read_text())["area"]
    numbers = [
        make_id_number("420102", dt.date(1970 + i % 30, 1 + i % 12, 1 + i % 28), i)
        for i in range(PERSONS)
    ]
    with app.uow() as uow:
        registry.load_area(uow=uow, document=area)
        registry.add_employer(uow=uow, code="E001", name="Example Co.", area_code="420100")
        for index, number in enumerate(numbers):
            registry.add_person(uow=uow, id_number=number, name=f"P{index}", area_code="420100")
            registry.register_employee(
                uow=uow, id_number=number, employer_code="E001", on=dt.date(2024, 1, 10)
            )
    return numbers


def _declaration(folder: Path, numbers: list[str]) -> Path:
    path = folder / "february.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id_number", "month", "insurances", "base", "received_on", "ref"])
        for index, number in enumerate(numbers):
            base = f"{6000 + index}.00"
            writer.writerow([number, "2024-02", "medical,pension", base, "2024-02-20", f"F{index}"])
    return path


def _import(url: str, file: Path, *, dies: bool = False) -> subprocess.CompletedProcess[str]:
    command = ["-c", _DIES_IN_A_CHUNK] if dies else ["-m", "yibao.entrypoints.cli.main"]
    return subprocess.run(
        [sys.executable, *command, "import", "contributions", str(file), "--db", url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "YIBAO_ENV": "development"},  # a test database, development keys
    )


def _recorded(app: App) -> tuple[int, int, int]:
    """Contributions, their transfers, and the money those transfers moved."""
    with app.uow() as uow:
        contributions = uow.session.scalar(select(func.count()).select_from(Contribution))
        transfers, moved = uow.session.execute(
            select(func.count(), func.coalesce(func.sum(LedgerTransfer.amount_fen), 0)).where(
                LedgerTransfer.kind == "contribution"
            )
        ).one()
    return int(contributions or 0), int(transfers), int(moved)


def test_an_import_killed_halfway_writes_nothing_and_run_again_records_each_row_once(
    app: App, tmp_path: Path
) -> None:
    file = _declaration(tmp_path, _city(app))
    url = _url_of(app.engine)

    killed = _import(url, file, dies=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _recorded(app) == (0, 0, 0)

    done = _import(url, file)
    assert done.returncode == 0, done.stderr
    assert f"{PERSONS} contributions rows imported" in done.stdout
    contributions, transfers, moved = _recorded(app)
    assert contributions == PERSONS
    assert moved > 0

    again = _import(url, file)
    assert again.returncode == 0, again.stderr
    assert "imported before" in again.stdout
    assert _recorded(app) == (contributions, transfers, moved)
    with app.uow() as uow:
        assert check_ledger(uow.ledger) == []
