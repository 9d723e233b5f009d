"""The `yibao` command."""

from __future__ import annotations

import typer

from yibao.entrypoints.cli import (
    area,
    card,
    contributions,
    credit,
    db,
    demo,
    hotline,
    inquire,
    ledger,
    people,
    pos,
    records,
    scenario,
    statements,
)

app = typer.Typer(
    name="yibao",
    help="Social medical insurance personal accounts: registry, crediting, ledger, inquiry.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(area.app, name="area")
app.add_typer(people.employer_app, name="employer")
app.add_typer(people.institution_app, name="institution")
app.add_typer(people.person_app, name="person")
app.add_typer(contributions.app, name="contribution")
app.add_typer(credit.app, name="credit")
app.add_typer(ledger.app, name="ledger")
app.add_typer(scenario.app, name="scenario")
app.add_typer(card.app, name="card")
app.add_typer(pos.app, name="pos")
app.command("inquire")(inquire.inquire)
app.command("hotline")(hotline.hotline)
app.command("records")(records.records)
app.command("statements")(statements.statements)
app.add_typer(demo.app, name="demo")

if __name__ == "__main__":
    app()
