"""`yibao scenario run|check`: replay acceptance scenarios (FORMAT.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from yibao.adapters.db import scratch_database
from yibao.domain.money import fen_to_yuan
from yibao.entrypoints.cli.common import (
    EXIT_BAD_INPUT,
    DbOption,
    console,
    err_console,
    reported_errors,
)
from yibao.services.scenario.model import MalformedScenario, load_scenario
from yibao.services.scenario.replay import Replay, replay, replay_json

app = typer.Typer(help="Acceptance scenarios.", no_args_is_help=True)


def _replay_file(path: Path, db: str | None) -> Replay:
    try:
        scenario = load_scenario(path)
    except MalformedScenario as error:
        err_console.print(f"[bold red]malformed[/] {error.message}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    with reported_errors(), scratch_database(db) as engine:
        return replay(scenario, engine)


@app.command("run")
def run_command(
    file: Path,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Replay FILE on a fresh database (temporary SQLite, or a new schema in --db) and answer."""
    result = _replay_file(file, db)
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
            f"  rejected line {rejection.line} {rejection.do}: [{rejection.code}] "
            f"{rejection.message}",
            highlight=False,
        )
    for note in result.unsupported:
        console.print(f"  [yellow]{note}[/]", highlight=False)


@app.command("check")
def check_command(files: list[Path], db: DbOption = None) -> None:
    """Replay each FILE and compare with its `expect`; exit 0 only if every query holds."""
    passed = failed = 0
    for path in files:
        result = _replay_file(path, db)
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
