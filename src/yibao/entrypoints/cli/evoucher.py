"""`yibao evoucher ...`: the medical insurance e-voucher (医保电子凭证), shown on a phone."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer

from yibao.bootstrap import App
from yibao.config import load_settings
from yibao.entrypoints.cli.common import (
    DbOption,
    console,
    in_one_transaction,
    parse_day,
    reported_errors,
    run,
)
from yibao.services.cards import electronic_card

app = typer.Typer(help="The medical insurance e-voucher.", no_args_is_help=True)

OnOption = Annotated[str | None, typer.Option("--on", help="YYYY-MM-DD (default today).")]


@app.command("issue")
def issue(
    id_number: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print {token, expires_at}.")] = False,
    db: DbOption = None,
) -> None:
    """A short-lived signed token for the person's e-voucher, good for one settlement."""
    with reported_errors():
        settings = load_settings(db)

    def action(app_: App) -> None:
        with app_.uow() as uow:
            issued = electronic_card.issue_evoucher(
                uow=uow,
                id_number=id_number,
                now=dt.datetime.now(dt.UTC),
                seconds=settings.electronic_card_seconds,
                secret=settings.card_secret,
            )
        expires = issued.expires_at.isoformat().replace("+00:00", "Z")
        if as_json:
            typer.echo(json.dumps({"token": issued.token, "expires_at": expires}))
        else:
            console.print(f"{issued.token}\n(good for one settlement until {expires})")

    run(db, action)


def _set_status(id_number: str, *, active: bool, on: str | None, db: str | None) -> None:
    with reported_errors():
        day = parse_day(on)
    status = in_one_transaction(
        db,
        lambda uow: electronic_card.set_evoucher_status(
            uow=uow, id_number=id_number, active=active, on=day
        ),
    )
    console.print(f"e-voucher {status} from {day}")


@app.command("suspend")
def suspend(id_number: str, on: OnOption = None, db: DbOption = None) -> None:
    """Stop the person's e-voucher (its own status: the card is not touched)."""
    _set_status(id_number, active=False, on=on, db=db)


@app.command("resume")
def resume(id_number: str, on: OnOption = None, db: DbOption = None) -> None:
    """Let a suspended e-voucher pay again."""
    _set_status(id_number, active=True, on=on, db=db)
