"""Social security cards: issue, activation, loss, replacement, PIN, and the electronic card."""

from __future__ import annotations

import datetime as dt

from fastapi import Response
from pydantic import BaseModel, Field

from yibao.adapters.tables import Card
from yibao.entrypoints.api.deps import Caller, CallerDep
from yibao.entrypoints.api.gate import checked, guarded
from yibao.entrypoints.api.schemas import Body, OnDay, day_or_today, router
from yibao.services import cards
from yibao.services.accounts.access import Target
from yibao.services.cards import electronic_card
from yibao.services.registry import person_by_key
from yibao.services.uow import UnitOfWork

api = router("cards")


class CardCreate(OnDay):
    card_no: str


class ActivationCreate(OnDay):
    pin: str = Field(description="the new 6-digit PIN")


class PinChange(Body):
    old_pin: str
    new_pin: str


class PinReset(Body):
    new_pin: str


class CardPublic(BaseModel):
    card_no: str
    status: str
    issued_on: dt.date
    medical_activated_on: dt.date | None
    financial_activated_on: dt.date | None
    lost_on: dt.date | None


class ElectronicCardPublic(BaseModel):
    payload: str  # shown as a QR code; good for one sale
    expires_in: int  # seconds


def _public(card: Card) -> CardPublic:
    return CardPublic(
        card_no=card.card_no,
        status=card.status,
        issued_on=card.issued_on,
        medical_activated_on=card.medical_activated_on,
        financial_activated_on=card.financial_activated_on,
        lost_on=card.lost_on,
    )


@api.post("/persons/{id_number}/card", status_code=201)
def issue(id_number: str, body: CardCreate, caller: CallerDep) -> CardPublic:
    """Issue a card (not usable until activated)."""
    with guarded(caller, "cards.issue", Target(person=id_number), "card") as guard:
        on = day_or_today(body.on, guard.uow.today())
        card = cards.issue_card(uow=guard.uow, id_number=id_number, card_no=body.card_no, on=on)
        return _public(card)


@api.post("/persons/{id_number}/card/activation")
def activate(id_number: str, body: ActivationCreate, caller: CallerDep) -> CardPublic:
    """Activate the social security (medical) function and set the PIN."""
    with guarded(caller, "cards.activate", Target(person=id_number), "card") as guard:
        on = day_or_today(body.on, guard.uow.today())
        return _public(cards.activate_card(uow=guard.uow, id_number=id_number, on=on, pin=body.pin))


@api.post("/persons/{id_number}/card/financial-activation")
def activate_financial(id_number: str, body: OnDay, caller: CallerDep) -> CardPublic:
    """Activate the card's bank (financial) account, as a bank counter does."""
    target = Target(person=id_number)
    with guarded(caller, "cards.activate_financial", target, "card") as guard:
        on = day_or_today(body.on, guard.uow.today())
        return _public(cards.activate_financial(uow=guard.uow, id_number=id_number, on=on))


@api.post("/persons/{id_number}/card/loss")
def report_loss(id_number: str, body: OnDay, caller: CallerDep) -> CardPublic:
    """Report the card lost: it is frozen at once; the balance stays the person's."""
    with guarded(caller, "cards.report_loss", Target(person=id_number), "card") as guard:
        on = day_or_today(body.on, guard.uow.today())
        return _public(cards.report_loss(uow=guard.uow, id_number=id_number, on=on))


@api.post("/persons/{id_number}/card/replacement", status_code=201)
def replace(id_number: str, body: CardCreate, caller: CallerDep) -> CardPublic:
    """Issue a replacement card (active); the old card number is dead forever."""
    with guarded(caller, "cards.replace", Target(person=id_number), "card") as guard:
        on = day_or_today(body.on, guard.uow.today())
        card = cards.replace_card(
            uow=guard.uow, id_number=id_number, new_card_no=body.card_no, on=on
        )
        return _public(card)


@api.post("/cards/{card_no}/pin", status_code=204)
def change_pin(card_no: str, body: PinChange, caller: CallerDep) -> Response:
    """Change the PIN with the old one; a wrong old PIN counts toward the lock."""
    with checked(caller, "cards.change_pin", Target(card=card_no), "pin") as guard:
        guard.person = _holder(caller, card_no)
        cards.change_pin(
            uow_factory=caller.app.uow,
            card_no=card_no,
            old_pin=body.old_pin,
            new_pin=body.new_pin,
            on=caller.app.today(),
        )
    return Response(status_code=204)


@api.post("/cards/{card_no}/pin-reset", status_code=204)
def reset_pin(card_no: str, body: PinReset, caller: CallerDep) -> Response:
    """Reset a forgotten or locked PIN at an agency counter (identity checked there)."""
    with guarded(caller, "cards.reset_pin", Target(card=card_no), "pin") as guard:
        guard.person = _holder_in(guard.uow, card_no)
        cards.reset_pin(uow=guard.uow, card_no=card_no, new_pin=body.new_pin)
    return Response(status_code=204)


@api.post("/persons/{id_number}/electronic-card", status_code=201)
def electronic(id_number: str, caller: CallerDep) -> ElectronicCardPublic:
    """A short-lived signed electronic card (QR) payload, good for one sale."""
    settings = caller.settings
    with guarded(caller, "cards.electronic", Target(person=id_number), "electronic_card") as g:
        issued = electronic_card.issue_evoucher(
            uow=g.uow,
            id_number=id_number,
            now=dt.datetime.now(dt.UTC),
            seconds=settings.electronic_card_seconds,
            secret=settings.card_secret,
        )
    return ElectronicCardPublic(payload=issued.token, expires_in=settings.electronic_card_seconds)


def _holder(caller: Caller, card_no: str) -> str:
    with caller.app.uow() as uow:
        return _holder_in(uow, card_no)


def _holder_in(uow: UnitOfWork, card_no: str) -> str:
    """The ID number of the card's holder: whom the audit entry concerns."""
    card = cards.card_by_number(uow=uow, card_no=card_no)
    return person_by_key(uow=uow, person_id=card.person_id).id_number
