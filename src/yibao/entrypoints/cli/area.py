"""`yibao area ...`: planning areas and their effective-dated policies."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from yibao.adapters.yaml_files import UnreadableYaml, load_yaml_file
from yibao.bootstrap import App
from yibao.domain.errors import InvalidInput
from yibao.domain.money import fen_to_yuan
from yibao.entrypoints.cli.common import DbOption, console, reported_errors, run
from yibao.services.registry import load_area
from yibao.services.uow import UnitOfWork

app = typer.Typer(help="Planning areas and policies.", no_args_is_help=True)


def read_area_file(path: Path) -> dict[str, object]:
    """The `area` block of a policy file (a whole scenario file works too)."""
    try:
        document = load_yaml_file(path)
    except UnreadableYaml as error:
        where = f" (line {error.line})" if error.line else ""
        raise InvalidInput("file", str(path), f"{error.problem}{where}") from None
    if isinstance(document, dict) and "area" in document:
        document = document["area"]
    if not isinstance(document, dict):
        raise InvalidInput("file", str(path), "holds no `area` mapping")
    return document


@app.command("load")
def load(file: Path, db: DbOption = None) -> None:
    """Load an area and its policies from YAML (the `area` block of FORMAT.md)."""
    with reported_errors():
        document = read_area_file(file)

    def action(app_: App) -> None:
        with app_.uow() as uow:
            show_schedule(uow, document)

    run(db, action)


def show_schedule(uow: UnitOfWork, document: dict[str, object]) -> None:
    schedule = load_area(uow=uow, document=document)
    table = Table(title=f"area {document['code']} {document['name']}")
    for column in (
        "from",
        "base floor",
        "ceiling",
        "employer",
        "employee",
        "age bands",
        "retiree/month",
    ):
        table.add_column(column)
    for p in schedule.policies:
        bands = ", ".join(f"<{b.below}: {b.rate}" for b in p.employer_share_by_age) or "none"
        table.add_row(
            str(p.effective_from),
            fen_to_yuan(p.base_floor_fen),
            fen_to_yuan(p.base_ceiling_fen),
            str(p.employer_rate),
            str(p.employee_rate),
            bands,
            fen_to_yuan(p.retiree_monthly_fen),
        )
    console.print(table)
