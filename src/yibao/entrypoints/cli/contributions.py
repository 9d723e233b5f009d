"""`yibao contribution pay`: record a contribution for a month (or a resident's year)."""

from __future__ import annotations

from typing import Annotated

import typer

from yibao.domain.money import fen_to_yuan, yuan_to_fen
from yibao.domain.months import Month
from yibao.entrypoints.cli.audited import Audited
from yibao.entrypoints.cli.common import (
    DbOption,
    console,
    in_one_transaction,
    parse_day,
    reported_errors,
)
from yibao.services.contributions import ContributionCmd, record_contribution

app = typer.Typer(help="Contributions per month and insurance type.", no_args_is_help=True)


@app.command("pay")
def pay(
    person: Annotated[str, typer.Option("--person", help="ID number.")],
    insurances: Annotated[
        str, typer.Option("--insurances", help="Comma list: pension,medical,unemployment,...")
    ],
    month: Annotated[str | None, typer.Option("--month", help="Month paid for, YYYY-MM.")] = None,
    year: Annotated[
        int | None, typer.Option("--year", help="Residents: the year paid for.")
    ] = None,
    base: Annotated[str | None, typer.Option("--base", help="Monthly wage base in yuan.")] = None,
    received: Annotated[str | None, typer.Option("--received", help="YYYY-MM-DD (today).")] = None,
    ref: Annotated[
        str | None, typer.Option("--ref", help="Payment reference (idempotency).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Record a payment; back pay for an earlier month is computed under that month's policy."""
    with reported_errors():
        cmd = ContributionCmd(
            id_number=person,
            received_on=parse_day(received, field="--received"),
            insurances=tuple(i.strip() for i in insurances.split(",") if i.strip()),
            month=Month.parse(month) if month else None,
            year=year,
            base_fen=yuan_to_fen(base, field="base") if base is not None else None,
            key=ref,
        )

    paid_for = month or (str(year) if year is not None else "")
    receipt = in_one_transaction(
        db,
        lambda uow: record_contribution(uow=uow, cmd=cmd),
        audit=Audited("contribution.pay", f"contribution:{paid_for}", person),
    )
    console.print(
        f"contribution {receipt.contribution_id} for {receipt.month}"
        f"{'' if receipt.month == receipt.through_month else ' to ' + receipt.through_month}"
        f" ({receipt.scheme}): medical employer {fen_to_yuan(receipt.medical_employer_fen)}, "
        f"person {fen_to_yuan(receipt.medical_person_fen)}; will credit "
        f"{fen_to_yuan(receipt.credit_fen)} to the personal account at month end",
        highlight=False,
    )
