"""`yibao areas clear`: planning areas each in a database of its own (YIBAO_AREA_DATABASES).

Named `areas`, not a command of `yibao area` (one area's policies in one database): it works
across every area's database at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from yibao.bootstrap import area_apps
from yibao.config import load_settings
from yibao.domain.errors import InvalidInput
from yibao.domain.money import fen_to_yuan
from yibao.domain.months import Month
from yibao.entrypoints.cli.common import EXIT_REFUSED, console, err_console, reported_errors
from yibao.services.settlement.inter_area_clearing import PairRefused, clear_between_areas

app = typer.Typer(
    help="Planning areas each in its own database: clearing what they owe each other.",
    no_args_is_help=True,
)


@app.command("clear")
def clear(
    period: Annotated[str, typer.Option("--period", help="The month cleared, YYYY-MM.")],
) -> None:
    """Clear each pair of areas' cross-area bills up to the end of PERIOD, once: both books
    must agree bill by bill, else the pair is refused (exit 1) and nothing of it is written."""
    with reported_errors():
        month = Month.parse(period, field="--period")
        apps = area_apps(load_settings())
        if apps is None:
            raise InvalidInput(
                "YIBAO_AREA_DATABASES", None, "is not set: one database has no areas to clear"
            )
    try:
        areas = next(iter(apps.values())).areas
        assert areas is not None
        with reported_errors():
            results = clear_between_areas(areas=areas, period=month, today=dt.date.today())
    finally:
        for one in apps.values():
            one.engine.dispose()
    for result in results:
        if isinstance(result, PairRefused):
            err_console.print(
                f"[red]REFUSED[/] {result.payer} -> {result.payee} {result.period}: "
                f"{result.reason}",
                highlight=False,
            )
            continue
        done = "cleared" if result.written else "already cleared"
        console.print(
            f"{result.payer} -> {result.payee} {result.period}: {done}, {result.bills} bills, "
            f"{fen_to_yuan(result.amount_fen)} yuan",
            highlight=False,
        )
    if not results:
        console.print(f"nothing to clear for {month}: no cross-area bills", highlight=False)
    if any(isinstance(result, PairRefused) for result in results):
        raise typer.Exit(EXIT_REFUSED)
