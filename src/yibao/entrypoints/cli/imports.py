"""`yibao import KIND FILE`: employers, persons, employment or contributions from CSV or .xlsx.

Every row is checked first; if any is refused, `FILE.errors.csv` lists each (row, field, value,
reason), nothing is written, and the exit code is 1. The same file applied again is a no-op.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yibao.adapters.tabular import content_sha256, error_report, read_rows
from yibao.domain.errors import InvalidInput
from yibao.entrypoints.cli.audited import Audited
from yibao.entrypoints.cli.common import (
    DbOption,
    console,
    err_console,
    in_one_transaction,
    reported_errors,
)
from yibao.services import imports


def import_file(
    kind: Annotated[str, typer.Argument(help="employers, persons, employment or contributions.")],
    file: Annotated[Path, typer.Argument(help="A .csv (UTF-8, header row) or .xlsx file.")],
    db: DbOption = None,
) -> None:
    """Employers, persons, employment or contributions from a CSV or .xlsx file.

    Every row of FILE is checked first; then the file is applied whole, or FILE.errors.csv is
    written and nothing is applied.
    """
    with reported_errors():
        required = imports.required_columns(kind)
        if not file.is_file():
            raise InvalidInput("file", str(file), "does not exist")
        digest = content_sha256(file)
    with error_report(file) as report:
        try:
            outcome = in_one_transaction(
                db,
                lambda uow: imports.import_rows(
                    uow=uow,
                    kind=kind,
                    rows=read_rows(file, required=required),
                    content_sha256=digest,
                    file_name=file.name,
                    refuse=lambda e: report.add(e.row, e.field, e.value, e.reason),
                ),
                audit=Audited(f"import.{kind}", f"import:{kind}:{digest[:16]}"),
            )
        except typer.Exit:
            if report.count:
                report.close()
                err_console.print(f"{report.count} row error(s) listed in {report.path}")
            raise
    if outcome.already_imported:
        console.print(f"{file.name} was imported before ({outcome.rows} rows): nothing to do")
    else:
        console.print(f"{outcome.rows} {kind} rows imported from {file.name}")
