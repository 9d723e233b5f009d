"""`yibao credit run`: the monthly crediting of personal accounts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn

from yibao.bootstrap import App
from yibao.domain.money import fen_to_yuan
from yibao.domain.months import Month
from yibao.entrypoints.cli.common import DbOption, console, reported_errors, run
from yibao.services import registry
from yibao.services.contributions.crediting import run_crediting

app = typer.Typer(help="Monthly crediting of personal accounts.", no_args_is_help=True)


@app.command("run")
def run_command(
    month: Annotated[str, typer.Option("--month", help="The month to credit, YYYY-MM.")],
    area: Annotated[str | None, typer.Option("--area", help="Area code (default: all).")] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size", min=1, help="Contributions per transaction (default 200,000)."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Credit every contribution received by the month's last day, and each retiree.

    Safe to run again or after a crash: each contribution is credited exactly once.
    """
    with reported_errors():
        chosen = Month.parse(month)

    def action(app_: App) -> None:
        with app_.uow() as uow:
            codes = registry.area_codes(uow=uow, only=area)
        for code in codes:
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            ) as bar:
                task = bar.add_task(f"crediting {code} {chosen}", total=None)

                def advance(
                    done: int, total: int, task: TaskID = task, bar: Progress = bar
                ) -> None:
                    bar.update(task, completed=done, total=total)

                summary = run_crediting(
                    uow_factory=app_.uow,
                    area_code=code,
                    month=chosen,
                    progress=advance,
                    **({} if batch_size is None else {"batch_size": batch_size}),
                )
            console.print(
                f"area {code} {chosen}: {summary.contributions_credited} contributions and "
                f"{summary.retirees_credited} retirees credited now; month total "
                f"{fen_to_yuan(summary.credited_fen)} yuan"
                + (
                    " (the run had completed before: nothing new)"
                    if summary.already_complete
                    and not summary.contributions_credited + summary.retirees_credited
                    else ""
                ),
                highlight=False,
            )

    run(db, action)
