"""`yibao ledger check` exits 1 and names the row when the ledger was tampered with."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.e2e.cli import yibao
from tests.integration.tampering import TAMPERINGS, make_history
from yibao.adapters.db import make_engine, upgrade


def _history(tmp_path: Path) -> tuple[Path, Engine]:
    db = tmp_path / "history.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    make_history(engine)
    return db, engine


def test_an_untouched_history_passes(tmp_path: Path) -> None:
    db, engine = _history(tmp_path)
    engine.dispose()

    done = yibao(db, "ledger", "check")

    assert done.returncode == 0, done.stderr
    assert "ledger OK" in done.stdout


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_each_tampering_exits_1_naming_the_row(tmp_path: Path, name: str) -> None:
    db, engine = _history(tmp_path)
    invariant, tampered = TAMPERINGS[name]
    row = tampered(engine)
    engine.dispose()

    done = yibao(db, "ledger", "check")

    assert done.returncode == 1
    failures = [line for line in done.stderr.splitlines() if line.startswith(f"FAIL {invariant}")]
    assert any(row in line for line in failures), done.stderr
