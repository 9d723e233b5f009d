"""`yibao card ...`: the social security card, for agency clerks and bank counters."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from yibao.bootstrap import App
from yibao.config import load_settings
from yibao.domain.errors import InvalidInput
from yibao.domain.idnumber import mask
from yibao.domain.money import fen_to_yuan, yuan_to_fen
from yibao.entrypoints.cli.audited import Audited, of_card
from yibao.entrypoints.cli.common import (
    DbOption,
    console,
    in_one_transaction,
    parse_day,
    reported_errors,
    run,
)
from yibao.entrypoints.cli.pin_input import read_pin
from yibao.ledger import accounts
from yibao.services import cards
from yibao.services.cards import electronic_card, family, financial
from yibao.services.registry import person_by_id_number
from yibao.services.uow import UnitOfWork

app = typer.Typer(
    help="Social security cards: issue, activation, PIN, loss, bank account.", no_args_is_help=True
)

OnOption = Annotated[str | None, typer.Option("--on", help="YYYY-MM-DD (default today).")]
RefOption = Annotated[
    str,
    typer.Option("--ref", help="The counter's reference: a retry with it posts nothing more."),
]


@app.command("issue")
def issue(id_number: str, card_no: str, on: OnOption = None, db: DbOption = None) -> None:
    """Issue a card (not usable until activated)."""
    day = parse_day(on)
    in_one_transaction(
        db,
        lambda uow: cards.issue_card(uow=uow, id_number=id_number, card_no=card_no, on=day),
        audit=Audited("card.issue", f"card:{card_no}", id_number),
    )
    console.print(f"card {card_no} issued on {day}; activate it when collected")


@app.command("activate")
def activate(id_number: str, on: OnOption = None, db: DbOption = None) -> None:
    """Activate the social security (medical) function and set the PIN (asked, or on stdin)."""
    day = parse_day(on)
    pin = read_pin("New PIN")
    card = in_one_transaction(
        db,
        lambda uow: cards.activate_card(uow=uow, id_number=id_number, on=day, pin=pin),
        audit=Audited("card.activate", "card: medical function", id_number),
    )
    console.print(f"card {card.card_no}: medical function active from {day}")


@app.command("activate-financial")
def activate_financial(id_number: str, on: OnOption = None, db: DbOption = None) -> None:
    """Activate the card's bank (financial) account, as the bank counter does."""
    day = parse_day(on)
    card = in_one_transaction(
        db,
        lambda uow: cards.activate_financial(uow=uow, id_number=id_number, on=day),
        audit=Audited("card.activate_financial", "card: financial account", id_number),
    )
    console.print(f"card {card.card_no}: financial account active from {day}")


@app.command("change-pin")
def change_pin(card_no: str, db: DbOption = None) -> None:
    """Change the PIN with the old one (both asked, or two lines on stdin: old, then new)."""
    old = read_pin("Old PIN", field="old_pin")
    new = read_pin("New PIN", field="new_pin")

    def action(app_: App) -> None:
        cards.change_pin(
            uow_factory=app_.uow, card_no=card_no, old_pin=old, new_pin=new, on=dt.date.today()
        )
        console.print("PIN changed")

    run(db, action, audit=Audited("card.change_pin", f"card:{card_no}", person_of=of_card(card_no)))


@app.command("reset-pin")
def reset_pin(card_no: str, db: DbOption = None) -> None:
    """Reset a forgotten or locked PIN at an agency counter (identity checked there)."""
    new = read_pin("New PIN", field="new_pin")
    in_one_transaction(
        db,
        lambda uow: cards.reset_pin(uow=uow, card_no=card_no, new_pin=new),
        audit=Audited("card.reset_pin", f"card:{card_no}", person_of=of_card(card_no)),
    )
    console.print("PIN reset and unlocked")


@app.command("report-loss")
def report_loss(id_number: str, on: OnOption = None, db: DbOption = None) -> None:
    """Report the card lost: it is frozen at once; the balance stays the person's."""
    day = parse_day(on)
    card = in_one_transaction(
        db,
        lambda uow: cards.report_loss(uow=uow, id_number=id_number, on=day),
        audit=Audited("card.report_loss", f"card: lost on {day}", id_number),
    )
    console.print(f"card {card.card_no} frozen on {day}; apply for a replacement")


@app.command("replace")
def replace(id_number: str, new_card_no: str, on: OnOption = None, db: DbOption = None) -> None:
    """Issue a replacement card (active); the old card number is dead forever."""
    day = parse_day(on)
    card = in_one_transaction(
        db,
        lambda uow: cards.replace_card(
            uow=uow, id_number=id_number, new_card_no=new_card_no, on=day
        ),
        audit=Audited("card.replace", f"card:{new_card_no}", id_number),
    )
    console.print(f"card {card.card_no} issued and active; the old card no longer works")


@app.command("electronic")
def electronic(id_number: str, db: DbOption = None) -> None:
    """Print a short-lived electronic card (QR) payload for the person."""
    with reported_errors():
        settings = load_settings(db)

    def action(app_: App) -> None:
        with app_.uow() as uow:
            person = person_by_id_number(uow=uow, id_number=id_number)
            person_id, area_code = person.id, person.area_code
        payload = electronic_card.electronic_card_payload(
            person_id=person_id,
            area_code=area_code,
            now=dt.datetime.now(dt.UTC),
            seconds=settings.electronic_card_seconds,
            secret=settings.card_secret,
        )
        console.print(payload)

    run(db, action, audit=Audited("card.electronic", "electronic card payload", id_number))


@app.command("deposit")
def deposit(
    id_number: str,
    amount: Annotated[str, typer.Option("--amount")],
    ref: RefOption,
    on: OnOption = None,
    db: DbOption = None,
) -> None:
    """Deposit cash into the card's financial (bank) account."""
    _bank(db, id_number, amount, ref, on, financial.deposit, "deposit")


@app.command("withdraw")
def withdraw(
    id_number: str,
    amount: Annotated[str, typer.Option("--amount")],
    ref: RefOption,
    on: OnOption = None,
    db: DbOption = None,
) -> None:
    """Withdraw cash from the card's financial account (never from the medical account)."""
    _bank(db, id_number, amount, ref, on, financial.withdraw, "withdrawal")


def _bank(
    db: str | None,
    id_number: str,
    amount: str,
    ref: str,
    on: str | None,
    operation: financial.BankOperation,
    what: str,
) -> None:
    day = parse_day(on)
    with reported_errors():
        fen = yuan_to_fen(amount)
        if not ref.strip():
            raise InvalidInput("ref", ref, "must name the deposit or withdrawal (its retry key)")

    def work(uow: UnitOfWork) -> int:
        operation(uow=uow, id_number=id_number, amount_fen=fen, on=day, key=ref)
        person = person_by_id_number(uow=uow, id_number=id_number)
        return uow.ledger.balance_of(accounts.financial_account(person.id))

    audited = Audited(f"card.{what}", f"financial account:{what}:{ref}", id_number)
    left = in_one_transaction(db, work, audit=audited)
    verb = {"deposit": "deposited", "withdrawal": "withdrawn"}[what]
    console.print(f"{fen_to_yuan(fen)} yuan {verb}; financial account {fen_to_yuan(left)}")


@app.command("bind-family")
def bind_family(
    id_number: str,
    member: str,
    relation: Annotated[str, typer.Option("--relation", help="spouse, parent, child, ...")],
    on: OnOption = None,
    db: DbOption = None,
) -> None:
    """Let ID_NUMBER's personal account pay for MEMBER (family mutual aid)."""
    day = parse_day(on)
    in_one_transaction(
        db,
        lambda uow: family.bind(
            uow=uow, id_number=id_number, member_id_number=member, relation=relation, on=day
        ),
        audit=Audited("card.bind_family", f"family binding:{relation}:{mask(member)}", id_number),
    )
    console.print(f"bound as {relation} from {day}")


@app.command("unbind-family")
def unbind_family(id_number: str, member: str, on: OnOption = None, db: DbOption = None) -> None:
    """End a family mutual aid binding."""
    day = parse_day(on)
    in_one_transaction(
        db,
        lambda uow: family.unbind(uow=uow, id_number=id_number, member_id_number=member, on=day),
        audit=Audited("card.unbind_family", f"family binding:{mask(member)}", id_number),
    )
    console.print(f"binding ended on {day}")
