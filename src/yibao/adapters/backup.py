"""Backups with the database's own tools: pg_dump/pg_restore, and SQLite's online backup.

PostgreSQL: `pg_dump -Fc` of the database (or, when the URL sets a search_path, of that one
schema), restored with `pg_restore` in one transaction into an empty database, so a failed
restore leaves the target as it was. The connection (password included) reaches the child
process through its environment (PGHOST, PGPASSWORD, ...), never through its argv, which any
user of the machine can read. SQLite: the online backup API, which copies a consistent
snapshot while other connections write.

A backup is written to a temporary file beside its target and renamed only when complete: a
failed backup leaves no half file that looks like a good one.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from yibao.adapters.db import check_connection, check_url, shown_url
from yibao.domain.errors import InvalidInput

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"
_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*([A-Za-z_][A-Za-z0-9_]*)")
# libpq's own variables for what a URL's query may carry besides search_path
_QUERY_VARIABLES = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
}


@dataclass(frozen=True)
class BackupDone:
    path: Path
    bytes: int
    kind: str  # "pg_dump" or "sqlite"
    schema: str | None = None


def backup(url: str, out: Path) -> BackupDone:
    """Write a backup of the database at `url` to `out`, which must not exist yet."""
    url = check_url(url)
    if out.exists():
        raise InvalidInput("out", str(out), "exists already: give a new file name")
    if not out.parent.is_dir():
        raise InvalidInput("out", str(out), f"names a folder that does not exist: {out.parent}")
    partial = out.with_name(f".{out.name}.partial")
    parsed = make_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            _sqlite_backup(_sqlite_path(parsed, must_exist=True), partial)
            kind, schema = "sqlite", None
        else:
            schema = schema_of(parsed)
            command = ["pg_dump", "--format=custom", f"--file={partial}"]
            if schema is not None:
                command.append(f"--schema={schema}")
            _run(command, parsed, what="pg_dump")
            kind = "pg_dump"
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return BackupDone(out, out.stat().st_size, kind, schema)


def restore(backup_file: Path, url: str) -> str:
    """Restore `backup_file` into the empty database at `url`; returns what was restored."""
    url = check_url(url)
    if not backup_file.is_file():
        raise InvalidInput("file", str(backup_file), "does not exist")
    header = backup_file.read_bytes()[:16] if backup_file.stat().st_size else b""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not header.startswith(SQLITE_HEADER):
            raise InvalidInput("file", str(backup_file), "is not a SQLite backup")
        target = _sqlite_path(parsed, must_exist=False)
        _refuse_sqlite_with_tables(target, url)
        _sqlite_backup(backup_file, target)
        return f"restored {backup_file} into {shown_url(url)}"
    if not header.startswith(PG_DUMP_HEADER):
        raise InvalidInput("file", str(backup_file), "is not a pg_dump custom-format backup")
    _refuse_pg_with_tables(parsed, url)
    command = [
        "pg_restore",
        "--single-transaction",  # all or nothing: a failed restore leaves the target empty
        "--exit-on-error",
        "--no-owner",  # objects belong to the role that restores
        f"--dbname={parsed.database}",  # a name only: the connection itself is in the environment
        str(backup_file),
    ]
    _run(command, parsed, what="pg_restore")
    return f"restored {backup_file} into {shown_url(url)}"


def schema_of(url: URL) -> str | None:
    """The schema a URL confines its connections to (`options=-csearch_path=...`), if any."""
    options = url.query.get("options")
    text = " ".join(options) if isinstance(options, tuple) else (options or "")
    found = _SEARCH_PATH.search(text)
    return found[1] if found else None


def child_environment(url: URL) -> dict[str, str]:
    """The environment of a pg_dump/pg_restore child: the connection as libpq variables."""
    environment = dict(os.environ)
    for name, value in (
        ("PGHOST", url.host),
        ("PGPORT", str(url.port) if url.port else None),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value:
            environment[name] = str(value)
    for key, variable in _QUERY_VARIABLES.items():
        given = url.query.get(key)
        if isinstance(given, str):
            environment[variable] = given
    host = url.query.get("host")  # a Unix socket folder: postgresql:///db?host=/run/postgresql
    if isinstance(host, str):
        environment["PGHOST"] = host
    return environment


def _run(command: list[str], url: URL, *, what: str) -> None:
    if shutil.which(command[0]) is None:
        raise InvalidInput(what, command[0], "is not installed (the PostgreSQL client tools)")
    done = subprocess.run(
        command, env=child_environment(url), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = lines[0].removeprefix(f"{what}: ") if lines else f"exit {done.returncode}"
        raise InvalidInput("db", url.render_as_string(hide_password=True), f"{what}: {reason}")


def _sqlite_path(url: URL, *, must_exist: bool) -> Path:
    if url.database in (None, "", ":memory:"):
        raise InvalidInput("db", str(url), "must name a SQLite file")
    path = Path(str(url.database))
    if must_exist and not path.is_file():
        raise InvalidInput("db", str(url), "names a SQLite file that does not exist")
    return path


def _sqlite_backup(source: Path, target: Path) -> None:
    """Copy with SQLite's online backup API: a consistent snapshot, even while others write."""
    reading = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    writing = sqlite3.connect(target)
    try:
        reading.backup(writing)
    finally:
        writing.close()
        reading.close()


def _refuse_sqlite_with_tables(target: Path, url: str) -> None:
    if not target.exists() or target.stat().st_size == 0:
        return
    connection = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    finally:
        connection.close()
    if tables:
        raise InvalidInput("db", url, "is not empty: restore only into a new, empty database")


def _refuse_pg_with_tables(url: URL, shown: str) -> None:
    engine = create_engine(url.difference_update_query(["options"]), poolclass=NullPool)
    try:
        check_connection(engine)
        with engine.connect() as connection:
            tables = connection.execute(
                text(
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
                    " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                    " AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    if tables:
        raise InvalidInput(
            "db",
            shown_url(shown),
            f"is not empty ({tables} tables, views or sequences): restore only into a new, "
            "empty database (createdb NAME)",
        )
