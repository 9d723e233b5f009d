"""`yibao scenario run|check`: replay scenario files (docs/scenarios.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from yibao.adapters.db import holds_records, scratch_database
from yibao.domain.money import fen_to_yuan
from yibao.entrypoints.cli.common import (
    EXIT_BAD_INPUT,
    DbOption,
    console,
    err_console,
    open_app,
    reported_errors,
)
from yibao.scenario.model import MalformedScenario, Scenario, load_scenario
from yibao.scenario.replay import Replay, replay, replay_json

app = typer.Typer(help="Acceptance scenarios.", no_args_is_help=True)


def _load(path: Path) -> Scenario:
    try:
        return load_scenario(path)
    except MalformedScenario as error:
        err_console.print(f"[bold red]malformed[/] {error.message}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _replay_in_scratch(path: Path, db: str | None) -> Replay:
    """Replay into a database made for it and dropped afterwards (SQLite file or PG schema)."""
    scenario = _load(path)
    with reported_errors(), scratch_database(db) as engine:
        return replay(scenario, engine)


def _replay_to_keep(path: Path, db: str) -> Replay:
    """Replay into `db` and leave the records there; only an empty database takes a story."""
    scenario = _load(path)
    app = open_app(db)
    try:
        if holds_records(app.engine):
            where = app.engine.url.render_as_string(hide_password=True)
            err_console.print(
                "[bold red]error[/] "
                + escape(
                    f"[database_not_empty] {where} already holds records: "
                    "replay a story into an empty database"
                ),
                highlight=False,
            )
            raise typer.Exit(EXIT_BAD_INPUT)
        with reported_errors():
            return replay(scenario, app.engine)
    finally:
        app.engine.dispose()


@app.command("run")
def run_command(
    file: Path,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Replay FILE and answer; with --db the records stay in that (empty) database."""
    result = _replay_in_scratch(file, None) if db is None else _replay_to_keep(file, db)
    if as_json:
        print(json.dumps(replay_json(result), ensure_ascii=False, indent=2))
        return
    console.print(f"[bold]{result.scenario.name}[/]")
    for answer in result.answers:
        q = answer.query
        console.print(
            f"  {q.as_of} {q.channel:<12} medical {fen_to_yuan(answer.medical_fen):>10}  "
            f"financial {fen_to_yuan(answer.financial_fen):>10}  shown "
            f"{fen_to_yuan(answer.shown_fen):>10}",
            highlight=False,
        )
    for rejection in result.rejections:
        console.print(
            escape(
                f"  rejected line {rejection.line} {rejection.do}: [{rejection.code}] "
                f"{rejection.message}"
            ),
            highlight=False,
        )
    for settled in result.settlements:
        refunded = " (refunded)" if settled.refunded else ""
        console.print(
            f"  settlement {settled.ref}: total {fen_to_yuan(settled.total_fen)}  fund "
            f"{fen_to_yuan(settled.fund_fen)}  account {fen_to_yuan(settled.account_fen)}  "
            f"cash {fen_to_yuan(settled.cash_fen)}{refunded}",
            highlight=False,
        )
    for note in result.unsupported:
        console.print(f"  [yellow]{note}[/]", highlight=False)


@app.command("check")
def check_command(files: list[Path], db: DbOption = None) -> None:
    """Replay each FILE on a scratch database (a new schema in --db) and compare with `expect`."""
    passed = failed = 0
    for path in files:
        result = _replay_in_scratch(path, db)
        for answer in result.answers:
            q = answer.query
            label = f"{path.name}:{q.line} {q.as_of} {q.channel}"
            if answer.ok and not result.unsupported:
                passed += 1
                console.print(f"[green]PASS[/] {label}", highlight=False)
            else:
                failed += 1
                reasons = "; ".join(answer.failures + result.unsupported[:1])
                console.print(f"[red]FAIL[/] {label}: {reasons}", highlight=False)
        for settled in result.settlements:
            if settled.expectation is None:
                continue
            label = f"{path.name}:{settled.expectation.line} settlement {settled.ref}"
            if settled.ok:
                passed += 1
                console.print(f"[green]PASS[/] {label}", highlight=False)
            else:
                failed += 1
                console.print(
                    f"[red]FAIL[/] {label}: {'; '.join(settled.failures)}", highlight=False
                )
        for missing in result.missing_settlements:
            failed += 1
            console.print(f"[red]FAIL[/] {path.name} {missing}", highlight=False)
        if not result.rejections_ok:
            failed += 1
            got = [r.code for r in result.rejections]
            console.print(
                f"[red]FAIL[/] {path.name} rejections: expected "
                f"{result.scenario.expect_rejections}, got {got}",
                highlight=False,
            )
    console.print(f"{passed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)
