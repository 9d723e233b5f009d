"""`yibao serve`: the HTTP API under uvicorn; `--demo` serves a demo city to try it on."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from yibao.bootstrap import App
from yibao.config import Settings, load_settings
from yibao.demo import DEFAULT_AREA, count_persons, load_demo_city
from yibao.demo.logins import DemoLogin, demo_logins
from yibao.domain.errors import InvalidInput
from yibao.domain.idnumber import mask
from yibao.entrypoints.cli.common import DbOption, console, open_app, reported_errors


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Worker processes (PostgreSQL; default: YIBAO_WORKERS, else the cores).",
        ),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Development: load a demo city and demo logins.")
    ] = False,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
) -> None:
    """Serve the REST API at /api/v1 (docs at /api/v1/docs)."""
    with reported_errors():
        settings = load_settings(db)
        settings.require_token_key()
        if demo and not settings.development:
            raise InvalidInput(
                "--demo", "production", "is for development only (YIBAO_ENV=development)"
            )
    on_sqlite = settings.database_url.startswith("sqlite")
    chosen = 1 if on_sqlite else (workers or settings.workers or os.cpu_count() or 1)
    if on_sqlite and workers and workers > 1:
        console.print("SQLite has one writer at a time: serving with one worker")
    app = open_app(settings.database_url)  # migrates the schema
    try:
        if demo:
            with reported_errors():
                _print_logins(_prepare_demo(app))
    finally:
        app.engine.dispose()
    console.print(
        f"yibao serves http://{host}:{port}/api/v1 (docs: http://{host}:{port}/api/v1/docs, "
        f"pages: http://{host}:{port}/login) "
        f"with {chosen} worker{'s' if chosen > 1 else ''}",
        highlight=False,
    )
    made = _prepare_metrics_folder(settings)
    from yibao.entrypoints.api.server import serve as run_server  # after the folder is set

    try:
        run_server(
            database_url=settings.database_url,
            host=host,
            port=port,
            workers=chosen,
            log_level=log_level,
        )
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def _prepare_metrics_folder(settings: Settings) -> Path | None:
    """The folder where each worker writes its metrics (prometheus-client's multiprocess
    mode), emptied of a previous run's files; it must be in the environment before any
    process imports prometheus-client. Returns the folder if it was made here (removed at exit).
    """
    given = settings.prometheus_multiproc_dir
    folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="yibao-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for kind in ("counter", "gauge", "histogram", "summary"):  # prometheus-client's files only
        for stale in folder.glob(f"{kind}_*.db"):
            stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)  # what the workers' metrics read
    return None if given else folder


def _prepare_demo(app: App) -> list[DemoLogin]:
    """The demo city (with its showcase: a person for every finding, cards, sales, refunds and
    family aid), made if the database has nobody yet and credited, and its logins."""
    with app.uow() as uow:
        empty = not count_persons(uow=uow, area_code=DEFAULT_AREA)
    if empty:
        console.print("loading the demo city ...")
    load_demo_city(uow_factory=app.uow, area_code=DEFAULT_AREA)
    with app.uow() as uow:
        return demo_logins(uow=uow)


def _print_logins(logins: list[DemoLogin]) -> None:
    table = Table(title="demo logins (development only: a new password at each start)")
    for column in ("user", "role", "scope", "password"):
        table.add_column(column)
    for login in logins:
        scope = login.scope or "-"
        table.add_row(
            login.name, str(login.role), mask(scope) if len(scope) == 18 else scope, login.password
        )
    console.print(table)
