"""pg_dump and pg_restore get the connection through their environment, never their argv."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url

from yibao.adapters import backup
from yibao.domain.errors import InvalidInput

URL = "postgresql://clerk:s3cret-Pa55@db.example:6543/city?options=-csearch_path%3Dwuhan&sslmode=require"


def test_the_connection_goes_to_libpq_variables_and_the_schema_is_read_from_the_url() -> None:
    parsed = make_url(URL)

    environment = backup.child_environment(parsed)

    assert environment["PGPASSWORD"] == "s3cret-Pa55"
    assert (environment["PGHOST"], environment["PGPORT"]) == ("db.example", "6543")
    assert (environment["PGUSER"], environment["PGDATABASE"]) == ("clerk", "city")
    assert environment["PGSSLMODE"] == "require"
    assert backup.schema_of(parsed) == "wuhan"


def test_pg_dump_argv_holds_no_password_and_a_failure_shows_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[list[str]] = []

    def failing_run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        seen.append(command)
        return subprocess.CompletedProcess(command, 1, "", "pg_dump: error: connection refused\n")

    monkeypatch.setattr(backup.subprocess, "run", failing_run)
    monkeypatch.setattr(backup.shutil, "which", lambda _: "/usr/bin/pg_dump")

    with pytest.raises(InvalidInput) as refused:
        backup.backup(URL, tmp_path / "city.backup")

    assert seen
    assert not any("s3cret" in part for part in seen[0])
    assert "--schema=wuhan" in seen[0]
    assert "s3cret" not in str(refused.value.message)
    assert "connection refused" in refused.value.message
    assert not list(tmp_path.iterdir())  # no half backup left behind
