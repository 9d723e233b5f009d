"""Activation is for an issued card: it cannot replace an active card's PIN or clear its lock."""

from __future__ import annotations

import pytest

from tests.integration.cards.cardholders import (
    DAY,
    card_of,
    cardholder,
    line,
    settle,
)
from yibao.adapters.tables import Person
from yibao.bootstrap import App
from yibao.domain.cards import DEFAULT_PIN_MAX_TRIES, PinLocked, WrongPin
from yibao.services import cards
from yibao.services.cards import CardAlreadyActive
from yibao.services.settlement import CardAndPin

OTHER_PIN = "654321"
LATER = DAY.replace(day=20)


def _activate(app: App, person: Person, pin: str | None = OTHER_PIN) -> None:
    with app.uow() as uow:
        cards.activate_card(uow=uow, id_number=person.id_number, on=LATER, pin=pin)


def _row(app: App, card_no: str) -> dict[str, object]:
    card = card_of(app, card_no)
    fields = ("status", "pin_hash", "failed_pin_tries", "medical_activated_on")
    return {name: getattr(card, name) for name in fields}


def test_activating_an_active_card_is_refused_and_its_pin_stays(city: App) -> None:
    person = cardholder(city, 1, "A1", fen=5_000)
    before = _row(city, "A1")

    with pytest.raises(CardAlreadyActive, match=rf"card A1 is active since {DAY}.*reset-pin"):
        _activate(city, person)
    with pytest.raises(CardAlreadyActive):
        _activate(city, person, pin=None)

    assert _row(city, "A1") == before
    with pytest.raises(WrongPin):
        settle(city, CardAndPin("A1", OTHER_PIN), "R-1", line(1_000))
    assert settle(city, "A1", "R-2", line(1_000)).personal_fen == 1_000


def test_a_locked_card_stays_locked_until_its_pin_is_reset_at_the_counter(city: App) -> None:
    person = cardholder(city, 1, "A1", fen=5_000)
    for attempt in range(DEFAULT_PIN_MAX_TRIES):
        with pytest.raises((WrongPin, PinLocked)):
            settle(city, CardAndPin("A1", "999999"), f"R-{attempt}", line(1_000))
    locked = _row(city, "A1")

    with pytest.raises(CardAlreadyActive):
        _activate(city, person)

    assert _row(city, "A1") == locked
    with pytest.raises(PinLocked):
        settle(city, CardAndPin("A1", OTHER_PIN), "R-x", line(1_000))
    with city.uow() as uow:
        cards.reset_pin(uow=uow, card_no="A1", new_pin=OTHER_PIN)
    assert settle(city, CardAndPin("A1", OTHER_PIN), "R-y", line(1_000)).personal_fen == 1_000
