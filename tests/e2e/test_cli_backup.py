"""`yibao backup` and `yibao restore` on SQLite and PostgreSQL: a city with sales and audit
entries, backed up and restored into a fresh database, checks out there with every balance
equal to the original's."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from tests.conftest import PG_URL, require_postgres
from tests.e2e.api.world import CARD, INSIDE, PIN, build_world
from yibao.adapters import tables
from yibao.adapters.db import make_engine, upgrade
from yibao.bootstrap import App
from yibao.services.accounts import Role

API = "/api/v1"


def yibao(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yibao.entrypoints.cli.main", *args, "--db", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200", "YIBAO_ENV": "development"},
    )


def in_schema(url: str, schema: str) -> str:
    return f"{url}?options=-csearch_path%3D{schema}"


class Databases:
    """A source database and a fresh, empty one to restore into, on one backend."""

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend = backend
        self.folder = folder
        self.schema = f"yibao_backup_{uuid.uuid4().hex[:10]}"
        self.restore_name = f"yibao_restore_{uuid.uuid4().hex[:10]}"
        if backend == "sqlite":
            self.source = f"sqlite:///{folder / 'city.db'}"
            self.target = f"sqlite:///{folder / 'restored.db'}"
            self.restored = self.target
        else:
            base = PG_URL.rsplit("/", 1)[0]
            self.source = in_schema(PG_URL, self.schema)
            self.target = f"{base}/{self.restore_name}"
            self.restored = in_schema(self.target, self.schema)

    def create(self) -> None:
        if self.backend == "postgresql":
            with self._admin() as admin, admin.begin() as connection:
                connection.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
            with self._admin(autocommit=True) as admin, admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{self.restore_name}"')

    def drop(self) -> None:
        if self.backend == "postgresql":
            with self._admin(autocommit=True) as admin, admin.connect() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
                connection.exec_driver_sql(
                    f'DROP DATABASE IF EXISTS "{self.restore_name}" WITH (FORCE)'
                )

    def _admin(self, *, autocommit: bool = False) -> _Disposing:
        options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
        return _Disposing(make_engine(PG_URL, pool_size=1, max_overflow=0, **options))


class _Disposing:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> Engine:
        return self.engine

    def __exit__(self, *_: object) -> None:
        self.engine.dispose()


@pytest.fixture
def databases(backend: str, tmp_path: Path) -> Iterator[Databases]:
    if backend == "postgresql":
        require_postgres()
    found = Databases(backend, tmp_path)
    found.create()
    try:
        yield found
    finally:
        found.drop()


def balances(url: str) -> dict[int, int]:
    engine = make_engine(url)
    try:
        with App(engine).uow() as uow:
            return uow.ledger.balances_by_account()
    finally:
        engine.dispose()


def counts(url: str) -> tuple[int, int, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return tuple(  # type: ignore[return-value]
                int(connection.execute(select(func.count()).select_from(table)).scalar_one())
                for table in (tables.LedgerTransfer, tables.AuditEntry, tables.Settlement)
            )
    finally:
        engine.dispose()


def make_city(url: str) -> None:
    """The API tests' city, with a sale, a refused sale and an inquiry through the API."""
    engine = make_engine(url)
    upgrade(engine)
    try:
        world = build_world(App(engine))
        with world.client:
            sale = {
                "institution": "P001",
                "items": [{"code": "DRUG-1", "quantity": 1, "amount": "12.30"}],
                "card": CARD,
                "day": "2024-03-02",
            }
            for ref, pin in (("S-1", PIN), ("S-2", "000000")):
                world.client.post(
                    f"{API}/pos/settlements",
                    json={**sale, "ref": ref, "pin": pin},
                    headers=world.headers(Role.INSTITUTION, key=True),
                )
            inquiry = world.client.get(
                f"{API}/persons/{INSIDE}/inquiry", headers=world.headers(Role.ADMIN)
            )
            assert inquiry.status_code == 200, inquiry.text
    finally:
        engine.dispose()


def test_a_restored_backup_checks_out_with_every_balance_equal(
    databases: Databases, tmp_path: Path
) -> None:
    make_city(databases.source)
    before = balances(databases.source)
    transfers, audit_entries, settlements = counts(databases.source)
    assert audit_entries > 0
    assert settlements > 0
    file = tmp_path / "city.backup"

    backed_up = yibao(databases.source, "backup", "--out", str(file))
    restored = yibao(databases.target, "restore", str(file))

    assert backed_up.returncode == 0, backed_up.stderr
    assert restored.returncode == 0, restored.stderr
    assert counts(databases.restored) == (transfers, audit_entries, settlements)
    assert balances(databases.restored) == before
    checked = yibao(databases.restored, "ledger", "check")
    verified = yibao(databases.restored, "audit", "verify")
    assert checked.returncode == 0, checked.stderr
    assert verified.returncode == 0, verified.stderr


def test_a_restore_into_a_database_that_holds_tables_is_refused_and_changes_nothing(
    databases: Databases, tmp_path: Path
) -> None:
    engine = make_engine(databases.source)
    upgrade(engine)
    engine.dispose()
    file = tmp_path / "empty.backup"
    assert yibao(databases.source, "backup", "--out", str(file)).returncode == 0
    assert yibao(databases.target, "restore", str(file)).returncode == 0
    before = counts(databases.restored)

    again = yibao(databases.target, "restore", str(file))

    assert again.returncode == 2
    assert "is not empty" in again.stderr
    assert "Traceback" not in again.stderr
    assert counts(databases.restored) == before


def test_a_backup_never_overwrites_an_existing_file(databases: Databases, tmp_path: Path) -> None:
    file = tmp_path / "taken.backup"
    file.write_text("an earlier backup")

    refused = yibao(databases.source, "backup", "--out", str(file))

    assert refused.returncode == 2
    assert "exists already" in refused.stderr
    assert file.read_text() == "an earlier backup"
