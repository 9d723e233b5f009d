"""32 wrong PINs at once on PostgreSQL: no more are compared with the hash than the lock allows."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from tests.integration.cards.cardholders import (
    PIN,
    card_of,
    cardholder,
    example_city,
    line,
    settle,
    settlement_count,
)
from yibao.bootstrap import App
from yibao.domain.cards import PinLocked, WrongPin
from yibao.services import cards
from yibao.services.settlement import CardAndPin

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
    pg_app: App, hash_checks: list[bool]
) -> None:
    example_city(pg_app, card={"pin_max_tries": MAX_TRIES})
    cardholder(pg_app, 1, "A1", fen=50_000)

    refusals = _race(lambda n: settle(pg_app, CardAndPin("A1", "999999"), f"R-{n}", line(1_000)))

    assert len(refusals) == THREADS
    assert all(isinstance(r, WrongPin | PinLocked) for r in refusals), refusals
    assert len(hash_checks) <= MAX_TRIES
    assert card_of(pg_app, "A1").failed_pin_tries == MAX_TRIES
    with pytest.raises(PinLocked):
        settle(pg_app, CardAndPin("A1", PIN), "R-right-pin", line(1_000))
    assert settlement_count(pg_app) == 0


def test_32_wrong_pins_at_once_at_a_terminal_check_at_most_the_policy_s_tries(
    pg_app: App, hash_checks: list[bool]
) -> None:
    example_city(pg_app, card={"pin_max_tries": MAX_TRIES})
    cardholder(pg_app, 1, "A1")

    refusals = _race(
        lambda n: cards.check_pin(
            uow_factory=pg_app.uow, card_no="A1", pin=f"{n:06d}", on=card_of(pg_app, "A1").issued_on
        )
    )

    assert len(refusals) == THREADS
    assert len(hash_checks) <= MAX_TRIES
    assert card_of(pg_app, "A1").failed_pin_tries == MAX_TRIES
    with pytest.raises(PinLocked):
        cards.check_pin(
            uow_factory=pg_app.uow, card_no="A1", pin=PIN, on=card_of(pg_app, "A1").issued_on
        )
