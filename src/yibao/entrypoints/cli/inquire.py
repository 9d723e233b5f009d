"""`yibao inquire`: a person's balances and why they are what they are."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from yibao.bootstrap import App
from yibao.domain.channels import CARD_CHANNELS
from yibao.domain.errors import InvalidInput
from yibao.domain.explain import Explanation, PersonRecords
from yibao.domain.idnumber import mask
from yibao.domain.money import fen_to_yuan
from yibao.entrypoints.cli.audited import Audited, cli_actor, of_card
from yibao.entrypoints.cli.common import DbOption, console, parse_day, reported_errors, run
from yibao.entrypoints.cli.pin_input import read_pin
from yibao.services.inquiry.channels import inquire_with_card
from yibao.services.inquiry.explain import explain_balance, inquiry_json


def inquire(
    person: Annotated[
        str | None, typer.Option("--person", help="ID number (web, hotline, pos).")
    ] = None,
    card: Annotated[
        str | None,
        typer.Option(
            "--card", help="Card number, for the terminal, bank counter and ATM (asks the PIN)."
        ),
    ] = None,
    channel: Annotated[
        str, typer.Option("--channel", help="web, hotline, pos, terminal, bank_counter or atm.")
    ] = "web",
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (today).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    db: DbOption = None,
) -> None:
    """Balances of both accounts, what the channel shows, and the findings that explain it."""
    with reported_errors():
        day = parse_day(as_of, field="--as-of")

    with reported_errors():
        if (person is None) == (card is None):
            raise InvalidInput("person", person, "give either --person or --card")
        if card is not None and channel not in CARD_CHANNELS:
            raise InvalidInput(
                "channel", channel, f"with --card is one of {', '.join(CARD_CHANNELS)}"
            )
        if person is not None and channel in CARD_CHANNELS:
            raise InvalidInput(
                "channel", channel, "is a card channel: it answers to --card and the PIN"
            )
    pin = read_pin() if card is not None else ""

    def action(app_: App) -> None:
        if card is not None:
            answer = inquire_with_card(
                uow_factory=app_.uow,
                channel=channel,
                card_no=card,
                pin=pin,
                today=day,
                actor=cli_actor(),
            )
            records, explanation = answer.records, answer.explanation
        else:
            with app_.uow() as uow:
                records, explanation = explain_balance(
                    uow=uow,
                    id_number=str(person),
                    as_of=day,
                    channel=channel,
                    actor=cli_actor(),
                )
        if as_json:
            print(json.dumps(inquiry_json(records, explanation), ensure_ascii=False, indent=2))
        else:
            _print(records, explanation)

    # the service records the inquiry; a refusal is recorded here
    audited = Audited(
        "inquiry",
        f"balance:{day}",
        person,
        person_of=of_card(card) if card is not None else None,
        channel=channel,
        by_service=True,
    )
    run(db, action, audit=audited)


def _print(records: PersonRecords, explanation: Explanation) -> None:
    console.print(
        f"[bold]{mask(records.id_number)}[/] as of {records.as_of} via {records.channel}: shows "
        f"{fen_to_yuan(explanation.shown_fen)} yuan ({explanation.shows} account)",
        highlight=False,
    )
    console.print(
        f"  medical personal account {fen_to_yuan(records.medical_fen)} yuan; "
        f"financial (bank) account {fen_to_yuan(records.financial_fen)} yuan",
        highlight=False,
    )
    for finding in explanation.findings:
        console.print(
            f"\n[bold]{finding.code}[/]: {finding.summary}\n  {finding.summary_zh}", highlight=False
        )
        for item in finding.evidence:
            console.print(f"  - {item}", highlight=False)
        if finding.legal_basis:
            console.print(f"  basis: {finding.legal_basis}", highlight=False)
        console.print(f"  next: {finding.next_step}", highlight=False)
