"""Running `yibao` as a user does, on a SQLite file; and a small city made that way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.scenario_files import EXAMPLES

PERSON = "420102199003071232"


def yibao(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yibao.entrypoints.cli.main", *args, "--db", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},  # wide enough that tables do not wrap
    )


def yibao_with_input(db: Path, keys: str, *args: str) -> subprocess.CompletedProcess[str]:
    """As `yibao`, typing `keys` at its prompts (a PIN, say)."""
    return subprocess.run(
        [sys.executable, "-m", "yibao.entrypoints.cli.main", *args, "--db", f"sqlite:///{db}"],
        input=keys,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def count(db: Path, table: str) -> int:
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        found = int(connection.execute(text(f"select count(*) from {table}")).scalar_one())
    engine.dispose()
    return found


def make_city(tmp_path: Path) -> Path:
    db = tmp_path / "city.db"
    steps = [
        ("area", "load", str(EXAMPLES / "01_medical_left_out.yaml")),
        ("employer", "add", "E001", "Example Machinery Co.", "--area", "420100"),
        ("person", "add", PERSON, "Zhang Wei", "--area", "420100"),
        ("person", "register", PERSON, "--employer", "E001", "--on", "2024-01-10"),
    ]
    for step in steps:
        done = yibao(db, *step)
        assert done.returncode == 0, done.stderr
    return db
