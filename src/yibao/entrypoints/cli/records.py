"""`yibao records`: a person's payment records, month by month."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from yibao.bootstrap import App
from yibao.domain.idnumber import mask
from yibao.domain.money import fen_to_yuan
from yibao.entrypoints.cli.audited import CHANNEL, Audited, cli_actor
from yibao.entrypoints.cli.common import DbOption, console, run
from yibao.services.contributions.payment_records import PaymentLine, payment_records


def records(
    person: Annotated[str, typer.Option("--person", help="ID number.")],
    year: Annotated[int | None, typer.Option("--year", help="One year only.")] = None,
    db: DbOption = None,
) -> None:
    """Which insurances were paid each month, by whom, on what base, and what was credited."""

    def action(app_: App) -> None:
        with app_.uow() as uow:
            lines = payment_records(
                uow=uow, id_number=person, actor=cli_actor(), channel=CHANNEL, year=year
            )
        table = Table(title=f"payment records of {mask(person)}")
        for column in (
            "month",
            "paid by",
            "insurances",
            "base",
            "medical (employer+person)",
            "credited",
            "on",
        ):
            table.add_column(column)
        for line in lines:
            months = (
                line.month
                if line.month == line.through_month
                else (f"{line.month}..{line.through_month}")
            )
            table.add_row(
                months,
                line.paid_by,
                ", ".join(line.insurances),
                fen_to_yuan(line.base_fen) if line.base_fen is not None else "-",
                f"{fen_to_yuan(line.medical_employer_fen)}+{fen_to_yuan(line.medical_person_fen)}",
                fen_to_yuan(line.credit_fen),
                _credited(line),
            )
        console.print(table)
        if not lines:
            console.print("no contributions on record")

    resource = "payment records" if year is None else f"payment records:{year}"
    run(db, action, audit=Audited("payment_records", resource, person, by_service=True))


def _credited(line: PaymentLine) -> str:
    if line.credit_fen == 0:
        return "-"  # nothing to credit: no medical insurance, or no personal account
    return str(line.credited_on) if line.credited_on else "pending month end"
