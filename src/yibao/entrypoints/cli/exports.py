"""`yibao export payments|transfers|statements --area CODE [--year YYYY] --out FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yibao.adapters.tabular import write_rows
from yibao.bootstrap import App
from yibao.entrypoints.cli.audited import Audited
from yibao.entrypoints.cli.common import DbOption, console, run
from yibao.services.exports import export


def export_file(
    what: Annotated[str, typer.Argument(help="payments, transfers or statements.")],
    area: Annotated[str, typer.Option("--area", help="The planning area's code.")],
    out: Annotated[Path, typer.Option("--out", help="The file to write (.csv or .xlsx).")],
    year: Annotated[
        int | None,
        typer.Option("--year", help="Only this calendar year (statements: the last whole year)."),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv or xlsx (default: from --out's suffix, else csv)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """An area's payment records, ledger transfers or yearly statements, streamed to a file."""
    chosen = fmt or ("xlsx" if out.suffix.lower() == ".xlsx" else "csv")

    def action(app: App) -> None:
        found = export(uow_factory=app.uow, what=what, area_code=area, year=year)
        rows = write_rows(out, found.header, found.rows, fmt=chosen)
        console.print(f"{rows} {what} rows of area {area} written to {out}", highlight=False)

    # every record of the area is read: one entry for the export, naming no one
    run(db, action, audit=Audited("export", f"export:{what}:{area}:{year or 'all'}"))
