"""Races on SQLite and PostgreSQL, a connection per thread: PIN guesses and a replayed e-card.

32 wrong PINs at once compare no more PINs with the hash than the lock allows; one electronic
card payload presented for 32 sales at once pays for one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from tests.integration.cards.cardholders import (
    NOW,
    PIN,
    SECRET,
    card_of,
    cardholder,
    example_city,
    line,
    medical_balance,
    settle,
    settlement_count,
)
from yibao.bootstrap import App
from yibao.domain.cards import PinLocked, WrongPin
from yibao.services import cards
from yibao.services.cards.electronic_card import ElectronicCardUsed, electronic_card_payload
from yibao.services.settlement import CardAndPin, ElectronicCard, Receipt

THREADS = 32
MAX_TRIES = 6


@pytest.fixture
def hash_checks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every comparison of a PIN with its stored hash, as made (right or wrong)."""
    made: list[bool] = []
    lock = threading.Lock()
    compare = cards._pin_matches

    def counted(pin_hash: str, pin: str) -> bool:
        matched = compare(pin_hash, pin)
        with lock:
            made.append(matched)
        return matched

    monkeypatch.setattr(cards, "_pin_matches", counted)
    return made


def _race(work: Callable[[int], object]) -> list[BaseException]:
    """Run `work(n)` on THREADS threads, each with its own connection, released together."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[BaseException] = []
    lock = threading.Lock()

    def run(number: int) -> None:
        barrier.wait(timeout=30)
        try:
            work(number)
        except BaseException as error:  # each outcome is checked by the test
            with lock:
                outcomes.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return outcomes


def test_32_wrong_pins_at_once_at_the_pos_check_at_most_the_policy_s_tries_and_lock_the_card(
    app: App, hash_checks: list[bool]
) -> None:
    example_city(app, card={"pin_max_tries": MAX_TRIES})
    cardholder(app, 1, "A1", fen=50_000)

    refusals = _race(lambda n: settle(app, CardAndPin("A1", "999999"), f"R-{n}", line(1_000)))

    assert len(refusals) == THREADS
    assert all(isinstance(r, WrongPin | PinLocked) for r in refusals), refusals
    assert len(hash_checks) <= MAX_TRIES
    assert card_of(app, "A1").failed_pin_tries == MAX_TRIES
    with pytest.raises(PinLocked):
        settle(app, CardAndPin("A1", PIN), "R-right-pin", line(1_000))
    assert settlement_count(app) == 0


def test_32_wrong_pins_at_once_at_a_terminal_check_at_most_the_policy_s_tries(
    app: App, hash_checks: list[bool]
) -> None:
    example_city(app, card={"pin_max_tries": MAX_TRIES})
    cardholder(app, 1, "A1")

    refusals = _race(
        lambda n: cards.check_pin(
            uow_factory=app.uow, card_no="A1", pin=f"{n:06d}", on=card_of(app, "A1").issued_on
        )
    )

    assert len(refusals) == THREADS
    assert len(hash_checks) <= MAX_TRIES
    assert card_of(app, "A1").failed_pin_tries == MAX_TRIES
    with pytest.raises(PinLocked):
        cards.check_pin(uow_factory=app.uow, card_no="A1", pin=PIN, on=card_of(app, "A1").issued_on)


def test_one_electronic_card_presented_for_32_sales_at_once_pays_for_one(app: App) -> None:
    example_city(app)
    person = cardholder(app, 1, "A1", fen=50_000)
    payload = ElectronicCard(
        electronic_card_payload(
            person_id=person.id, area_code=person.area_code, now=NOW, seconds=300, secret=SECRET
        )
    )
    receipts: list[Receipt] = []

    refusals = _race(lambda n: receipts.append(settle(app, payload, f"R-{n}", line(1_000))))

    assert len(receipts) == 1
    assert len(refusals) == THREADS - 1
    assert all(isinstance(r, ElectronicCardUsed) for r in refusals), refusals
    assert settlement_count(app) == 1
    assert medical_balance(app, person) == 49_000
