"""`yibao ledger check|balance`: the ledger's invariants and a person's accounts."""

from __future__ import annotations

from typing import Annotated

import typer

from yibao.bootstrap import App
from yibao.domain.channels import Channel
from yibao.domain.money import fen_to_yuan
from yibao.entrypoints.cli.audited import Audited
from yibao.entrypoints.cli.common import (
    DbOption,
    console,
    err_console,
    parse_day,
    reported_errors,
    run,
)
from yibao.ledger.check import check_ledger
from yibao.services.inquiry import balances

app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)


@app.command("check")
def check(db: DbOption = None) -> None:
    """Verify every invariant and reconcile each posting with its cause; exit 1 and list each
    problem, naming its row, if one fails."""
    problems: list[str] = []

    def action(app_: App) -> None:
        with app_.uow() as uow:
            problems.extend(f"{p.invariant}: {p.detail}" for p in check_ledger(uow.ledger))

    run(db, action)
    for problem in problems:
        err_console.print(f"[red]FAIL[/] {problem}", highlight=False)
    if problems:
        raise typer.Exit(1)
    console.print(
        "ledger OK: every book sums to zero, no account closed a day overdrawn, "
        "every posting matches its cause"
    )


@app.command("balance")
def balance(
    person: Annotated[str, typer.Option("--person", help="ID number.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="YYYY-MM-DD (default today).")
    ] = None,
    db: DbOption = None,
) -> None:
    """The medical personal account and the card's financial account of one person."""
    with reported_errors():
        day = parse_day(as_of, field="--as-of")

    def action(app_: App) -> None:
        with app_.uow() as uow:
            found = balances(uow=uow, id_number=person, as_of=day, channel=Channel.WEB)
        console.print(
            f"medical personal account {fen_to_yuan(found.medical_fen)} yuan; "
            f"financial (bank) account {fen_to_yuan(found.financial_fen)} yuan "
            f"(as of {day})",
            highlight=False,
        )

    run(db, action, audit=Audited("ledger.balance", f"balances:{day}", person))
