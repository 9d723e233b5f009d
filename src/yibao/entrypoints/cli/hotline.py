"""`yibao hotline`: try the voice menu in a terminal (type what a caller would key in)."""

from __future__ import annotations

import typer

from yibao.bootstrap import App
from yibao.domain import hotline as menu
from yibao.entrypoints.cli.audited import cli_actor
from yibao.entrypoints.cli.common import DbOption, console, parse_day, reported_errors, run
from yibao.services.inquiry.hotline import HotlineRecordsFromStorage


def hotline(
    today: str | None = typer.Option(None, "--today", help="The call's date (default today)."),
    db: DbOption = None,
) -> None:
    """Call the hotline: ID number, query password (the card PIN), then the menu."""
    with reported_errors():
        day = parse_day(today, field="--today")

    def action(app_: App) -> None:
        records = HotlineRecordsFromStorage(app_.uow, day, actor=cli_actor())
        call, said = menu.start()
        while True:
            for line in said:
                console.print(f"[cyan]>[/] {line}", highlight=False)
            if call.stage is menu.Stage.ENDED:
                return
            secret = call.stage is menu.Stage.ASK_PASSWORD
            try:
                keys = typer.prompt("keys", hide_input=secret, default="", show_default=False)
            except typer.Abort:
                return
            call, said = menu.press(call, keys, records)

    run(db, action)
