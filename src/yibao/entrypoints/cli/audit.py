"""`yibao audit verify|show`: the audit trail, for auditors."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from yibao.bootstrap import App
from yibao.domain.audit import AuditEntry
from yibao.domain.errors import InvalidInput
from yibao.entrypoints.cli.audited import Audited
from yibao.entrypoints.cli.common import (
    DbOption,
    console,
    err_console,
    parse_day,
    reported_errors,
    run,
)
from yibao.services import audit

app = typer.Typer(help="The audit trail: who read or wrote whose data.", no_args_is_help=True)


@app.command("verify")
def verify(db: DbOption = None) -> None:
    """Check every hash chain; exit 1 naming the first entry changed, removed or reordered."""
    found: list[audit.AuditBreak] = []

    def action(app_: App) -> None:
        with app_.uow() as uow:
            broken = audit.verify(uow=uow)
        if broken is not None:
            found.append(broken)

    run(db, action)
    if found:
        err_console.print(f"[red]FAIL[/] {found[0].kind}: {found[0].detail}", highlight=False)
        raise typer.Exit(1)
    console.print("audit trail OK: no entry changed, removed or reordered")


@app.command("show")
def show(
    person: Annotated[str, typer.Option("--person", help="ID number the entries concern.")],
    user: Annotated[str | None, typer.Option("--user", help="Only this actor.")] = None,
    day: Annotated[str | None, typer.Option("--day", help="Only this day, YYYY-MM-DD.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    db: DbOption = None,
) -> None:
    """Who read or wrote the person's data, through which channel, when, and the outcome."""
    with reported_errors():
        on = parse_day(day, field="--day") if day is not None else None
        if not person.strip():
            raise InvalidInput("person", person, "is empty: give the ID number")
        if limit < 1:
            raise InvalidInput("limit", limit, "must be at least 1")

    def action(app_: App) -> None:
        with app_.uow() as uow:
            found = audit.entries(uow=uow, person=person, user=user, day=on, limit=limit)
        if as_json:
            print(json.dumps([entry_json(e) for e in found], ensure_ascii=False, indent=2))
            return
        table = Table(title="audit trail")
        for column in (
            "when",
            "user",
            "role",
            "channel",
            "action",
            "person",
            "resource",
            "outcome",
        ):
            table.add_column(column)
        for entry in found:
            event = entry.event
            table.add_row(
                entry.recorded_at.isoformat(sep=" ", timespec="seconds"),
                event.actor.user,
                event.actor.role,
                event.channel,
                event.action,
                entry.masked_person,
                event.resource,
                event.outcome,
            )
        console.print(table)
        if not found:
            console.print("no entries")

    run(db, action, audit=Audited("audit.show", "audit trail", person))


def entry_json(entry: AuditEntry) -> dict[str, object]:
    """An entry as lists show it: the ID number masked."""
    event = entry.event
    return {
        "id": entry.id,
        "recorded_at": entry.recorded_at.isoformat(timespec="microseconds"),
        "user": event.actor.user,
        "role": event.actor.role,
        "channel": event.channel,
        "action": event.action,
        "person": entry.masked_person,
        "resource": event.resource,
        "outcome": event.outcome,
    }
