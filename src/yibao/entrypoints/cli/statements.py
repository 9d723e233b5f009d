"""`yibao statements --year Y`: the yearly statement of every person of an area, as PDFs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn

from yibao.bootstrap import App
from yibao.entrypoints.cli.audited import Audited
from yibao.entrypoints.cli.common import DbOption, console, run
from yibao.services import registry
from yibao.services.inquiry.statements import write_statements


def statements(
    year: Annotated[int, typer.Option("--year", help="The calendar year of the statements.")],
    area: Annotated[str | None, typer.Option("--area", help="Area code (default: all).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the PDFs.")] = Path("statements"),
    db: DbOption = None,
) -> None:
    """One PDF per person (Social Insurance Law art. 74: sent periodically, free of charge)."""

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
            ) as bar:
                task = bar.add_task(f"statements {code} {year}", total=None)

                def advance(
                    done: int, total: int, task: TaskID = task, bar: Progress = bar
                ) -> None:
                    bar.update(task, completed=done, total=total)

                written = write_statements(
                    uow_factory=app_.uow,
                    area_code=code,
                    year=year,
                    out_dir=out / code,
                    progress=advance,
                )
            console.print(
                f"area {code}: {written} statements for {year} in {out / code}", highlight=False
            )

    # every person's records of the areas are read: one entry for the run, naming no one
    run(db, action, audit=Audited("statements", f"statements:{year}:{area or 'all areas'}"))
