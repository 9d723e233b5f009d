"""`yibao db ...`: schema migrations."""

from __future__ import annotations

import typer

from yibao.adapters.db import make_engine, upgrade
from yibao.config import load_settings
from yibao.entrypoints.cli.common import DbOption, console, reported_errors

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(db: DbOption = None) -> None:
    """Create or migrate the schema (the same migrations on SQLite and PostgreSQL)."""
    with reported_errors():
        engine = make_engine(load_settings(db).database_url)
    upgrade(engine)
    console.print(f"schema is up to date on {engine.url.render_as_string(hide_password=True)}")
