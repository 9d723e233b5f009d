"""`yibao pos ...`: a designated pharmacy's or hospital's cashier, and its daily settlement."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from yibao.bootstrap import App
from yibao.config import load_settings
from yibao.domain.errors import InvalidInput
from yibao.domain.money import fen_to_yuan, yuan_to_fen
from yibao.domain.pooled import parse_visit
from yibao.domain.settlement import MAX_QUANTITY
from yibao.entrypoints.cli.audited import Audited, of_card, of_sale
from yibao.entrypoints.cli.common import (
    DbOption,
    console,
    in_one_transaction,
    parse_day,
    reported_errors,
    run,
)
from yibao.entrypoints.cli.pin_input import read_pin
from yibao.services import settlement
from yibao.services.settlement import (
    CardAndPin,
    ElectronicCard,
    LineItem,
    Receipt,
    SettleCmd,
    institution_settlement,
)

app = typer.Typer(help="Point of sale at designated institutions.", no_args_is_help=True)

InstitutionOption = Annotated[str, typer.Option("--institution", help="Institution code.")]
DayOption = Annotated[str | None, typer.Option("--day", help="YYYY-MM-DD (default today).")]


def parse_item(text: str) -> LineItem:
    """CODE:QUANTITY:AMOUNT, with ':own' for an item outside the insurance catalogue (neither
    the pooled fund nor the personal account pays for it)."""
    parts = text.split(":")
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "own"):
        raise InvalidInput("item", text, "must be CODE:QUANTITY:AMOUNT[:own], e.g. A01:2:35.50")
    if not parts[1] or not all("0" <= c <= "9" for c in parts[1]):
        raise InvalidInput("item quantity", parts[1], "must be a whole number in the digits 0-9")
    if len(parts[1]) > len(str(MAX_QUANTITY)):
        raise InvalidInput("item quantity", parts[1], f"must be at most {MAX_QUANTITY}")
    return LineItem(
        parts[0],
        int(parts[1]),
        yuan_to_fen(parts[2], field="item amount"),
        account_may_pay=len(parts) == 3,
    )


@app.command("settle")
def settle(
    institution: InstitutionOption,
    ref: Annotated[str, typer.Option("--ref", help="The institution's reference (idempotent).")],
    item: Annotated[list[str], typer.Option("--item", help="CODE:QTY:AMOUNT[:own], repeatable.")],
    card: Annotated[
        str | None, typer.Option("--card", help="Card number read by the POS (PIN asked).")
    ] = None,
    evoucher: Annotated[
        str | None,
        typer.Option("--evoucher", "--ecard", help="E-voucher token (`yibao evoucher issue`)."),
    ] = None,
    visit: Annotated[
        str | None, typer.Option("--visit", help="pharmacy, outpatient or inpatient.")
    ] = None,
    patient: Annotated[
        str | None,
        typer.Option("--patient", help="The patient's ID: the credential must be theirs."),
    ] = None,
    payer: Annotated[
        str | None,
        typer.Option("--payer", help="Family aid: the bound member whose account pays."),
    ] = None,
    day: DayOption = None,
    db: DbOption = None,
) -> None:
    """Settle a bill: the pooled fund pays its share, the personal account what it may of the
    rest of the catalogue part, the person the remainder."""
    with reported_errors():
        lines = tuple(parse_item(i) for i in item)
        on = parse_day(day, field="--day")
        chosen_visit = None if visit is None else parse_visit(visit)
        if (card is None) == (evoucher is None):
            raise InvalidInput("card", card, "give either --card (with its PIN) or --evoucher")
    credential: CardAndPin | ElectronicCard = (
        CardAndPin(card, read_pin()) if card is not None else ElectronicCard(str(evoucher))
    )
    with reported_errors():
        settings = load_settings(db)
    cmd = SettleCmd(
        institution, ref, credential, lines, on, payer, chosen_visit, patient_id_number=patient
    )

    def action(app_: App) -> None:
        receipt = settlement.settle(
            uow_factory=app_.uow,
            cmd=cmd,
            now=dt.datetime.now(dt.UTC),
            card_secret=settings.card_secret,
            electronic_card_seconds=settings.electronic_card_seconds,
        )
        print_receipt(receipt)

    person_of = of_card(card) if card is not None else of_sale(ref, institution)
    run(db, action, audit=Audited("pos.settle", f"sale:{institution}:{ref}", person_of=person_of))


def print_receipt(receipt: Receipt) -> None:
    table = Table(title=f"{receipt.institution_code} receipt {receipt.ref}", show_header=False)
    table.add_row("patient", receipt.patient)
    if receipt.family_aid:
        table.add_row("paid by (family aid)", receipt.payer)
    table.add_row("visit", receipt.visit)
    table.add_row("total", fen_to_yuan(receipt.total_fen))
    table.add_row("deductible applied", fen_to_yuan(receipt.deductible_fen))
    table.add_row("pooled fund ratio", receipt.ratio)
    table.add_row("pooled fund paid", fen_to_yuan(receipt.fund_fen))
    table.add_row("personal account paid", fen_to_yuan(receipt.personal_fen))
    table.add_row("paid by the person (cash)", fen_to_yuan(receipt.own_fen))
    table.add_row("personal account balance", fen_to_yuan(receipt.balance_after_fen))
    console.print(table)


@app.command("refund")
def refund(
    ref: Annotated[str, typer.Option("--ref")],
    institution: Annotated[str | None, typer.Option("--institution")] = None,
    day: DayOption = None,
    db: DbOption = None,
) -> None:
    """Refund a whole settlement, once: the personal account gets back what it paid."""
    with reported_errors():
        on = parse_day(day, field="--day")

    receipt = in_one_transaction(
        db,
        lambda uow: settlement.refund(uow=uow, ref=ref, on=on, institution_code=institution),
        audit=Audited(
            "pos.refund", f"sale:{institution or '?'}:{ref}", person_of=of_sale(ref, institution)
        ),
    )
    console.print(
        f"refunded {fen_to_yuan(receipt.fund_fen)} yuan to the pooled fund, "
        f"{fen_to_yuan(receipt.personal_fen)} yuan to the personal account "
        f"(balance {fen_to_yuan(receipt.balance_after_fen)}) and "
        f"{fen_to_yuan(receipt.own_fen)} yuan to the person"
    )


@app.command("statement")
def statement(institution: InstitutionOption, day: DayOption = None, db: DbOption = None) -> None:
    """The institution's daily statement, reconciled with the ledger."""
    with reported_errors():
        on = parse_day(day, field="--day")

    def action(app_: App) -> None:
        with app_.uow() as uow:
            s = institution_settlement.daily_statement(
                uow=uow, institution_code=institution, day=on
            )
        table = Table(title=f"{institution} statement {on}", show_header=False)
        table.add_row("settlements", str(s.count))
        table.add_row("pooled fund total", fen_to_yuan(s.fund_fen))
        table.add_row("personal account total", fen_to_yuan(s.personal_fen))
        table.add_row("own payment total", fen_to_yuan(s.own_fen))
        refunded = s.refunded_personal_fen + s.refunded_fund_fen
        table.add_row("refunds", f"{s.refunds} ({fen_to_yuan(refunded)})")
        table.add_row("ledger, net into payable", fen_to_yuan(s.ledger_net_fen))
        table.add_row("reconciled", "yes" if s.reconciled else "NO")
        console.print(table)
        if not s.reconciled:
            raise typer.Exit(1)

    run(db, action)


@app.command("clear")
def clear(institution: InstitutionOption, day: DayOption = None, db: DbOption = None) -> None:
    """Pay the institution what it is owed for the days up to DAY and not yet cleared."""
    with reported_errors():
        on = parse_day(day, field="--day")

    def action(app_: App) -> None:
        with app_.uow() as uow:
            paid = institution_settlement.clear_institution(
                uow=uow, institution_code=institution, day=on
            )
        console.print(f"{institution}: {fen_to_yuan(paid)} yuan cleared for {on}")

    run(db, action)
