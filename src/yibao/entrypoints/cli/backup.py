"""`yibao backup` and `yibao restore`: the database's own tools (pg_dump, pg_restore, SQLite's
online backup), with the connection passed to them through the environment, never argv."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yibao.adapters import backup as backups
from yibao.config import load_settings
from yibao.entrypoints.cli.common import DbOption, console, reported_errors


def backup(
    out: Annotated[Path, typer.Option("--out", help="The backup file to write (must be new).")],
    db: DbOption = None,
) -> None:
    """Back up the database: pg_dump -Fc on PostgreSQL, the online backup API on SQLite."""
    with reported_errors():
        done = backups.backup(load_settings(db).database_url, out)
    schema = f" (schema {done.schema})" if done.schema else ""
    console.print(f"backup written: {done.path}, {done.bytes} bytes, {done.kind}{schema}")


def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `yibao backup`.")],
    db: DbOption = None,
) -> None:
    """Restore a backup into a new, empty database (a non-empty one is refused)."""
    with reported_errors():
        console.print(backups.restore(file, load_settings(db).database_url), highlight=False)
