"""The POS sale's round trips: the PIN's try on the sale's own connection, the e-card's use
written with the sale; the same outcomes on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event

from tests.integration.cards.cardholders import (
    AREA,
    DAY,
    NOW,
    PIN,
    SECRET,
    card_of,
    cardholder,
    insure,
    line,
    settle,
)
from yibao.adapters.hot import AutocommitConnection
from yibao.bootstrap import App
from yibao.domain.cards import PinLocked, WrongPin
from yibao.services import cards
from yibao.services.cards import family
from yibao.services.cards.electronic_card import ElectronicCardUsed, electronic_card_payload
from yibao.services.settlement import CardAndPin, ElectronicCard


def _checkouts(engine: Engine, sale: Any) -> int:
    """How many times `sale()` borrowed a connection from the engine's pool."""
    count = 0

    def counted(*_: object) -> None:
        nonlocal count
        count += 1

    event.listen(engine.pool, "checkout", counted)
    try:
        sale()
    finally:
        event.remove(engine.pool, "checkout", counted)
    return count


def test_a_sale_with_card_and_pin_borrows_one_connection_on_postgresql(city: App) -> None:
    cardholder(city, 1, "C1", fen=10_000)
    settle(city, "C1", "R0", line(1_000))  # the institution's first sale opens its payable
    checkouts = _checkouts(city.engine, lambda: settle(city, "C1", "R1", line(3_000)))
    # SQLite keeps the PIN's transaction apart from the sale's, each with its connection
    assert checkouts == (1 if city.engine.dialect.name == "postgresql" else 2)


def test_a_wrong_pin_is_counted_before_its_refusal_on_the_same_connection(city: App) -> None:
    cardholder(city, 1, "C1", fen=10_000)
    with pytest.raises(WrongPin):
        settle(city, CardAndPin("C1", "654321"), "R1", line(3_000))
    with pytest.raises(WrongPin, match="tries left"):
        settle(city, CardAndPin("C1", "654321"), "R2", line(3_000))
    receipt = settle(city, "C1", "R3", line(3_000))  # a right PIN clears the count and pays
    assert receipt.personal_fen == 3_000


class _Refused(Exception):
    pass


def test_a_transaction_on_an_autocommit_connection_commits_or_rolls_back(
    pg_engine: Engine,
) -> None:
    hot = AutocommitConnection(pg_engine)
    try:
        cursor = hot.target.cursor
        cursor.execute("CREATE TEMP TABLE t (n int)")

        def insert_then_refuse() -> None:
            with hot.transaction():
                cursor.execute("INSERT INTO t VALUES (1)")
                raise _Refused

        with pytest.raises(_Refused):
            insert_then_refuse()
        with hot.transaction():
            cursor.execute("INSERT INTO t VALUES (2)")
        cursor.execute("SELECT n FROM t")
        assert cursor.fetchall() == [(2,)]
    finally:
        hot.close()


def test_a_refusal_named_by_the_transaction_commits_what_was_done_before_it(
    pg_engine: Engine,
) -> None:
    hot = AutocommitConnection(pg_engine)
    try:
        cursor = hot.target.cursor
        cursor.execute("CREATE TEMP TABLE t (n int)")

        def count_then_refuse() -> None:
            with hot.transaction(commit_on=(_Refused,)):
                cursor.execute("INSERT INTO t VALUES (1)")
                raise _Refused

        with pytest.raises(_Refused):
            count_then_refuse()
        cursor.execute("SELECT n FROM t")
        assert cursor.fetchall() == [(1,)]
    finally:
        hot.close()


def test_a_sale_with_a_wrong_pin_commits_its_try_and_a_family_sale_hands_over_to_a_session(
    city: App,
) -> None:
    """The PIN's transaction is committed when the sale needs a Session (family aid)."""
    patient = cardholder(city, 1, "C1")
    insure(city, patient)
    payer = cardholder(city, 2, "C2", fen=10_000)
    with pytest.raises(WrongPin):
        settle(city, CardAndPin("C1", "654321"), "R1", line(3_000))
    with city.uow() as uow:
        family.bind(
            uow=uow,
            id_number=payer.id_number,
            member_id_number=patient.id_number,
            relation="spouse",
            on=DAY,
        )
    receipt = settle(city, "C1", "R2", line(3_000), payer=payer)
    assert receipt.family_aid
    assert receipt.personal_fen == 3_000
    assert card_of(city, "C1").failed_pin_tries == 0


def _payload(person_id: int) -> ElectronicCard:
    return ElectronicCard(
        electronic_card_payload(
            person_id=person_id, area_code=AREA, now=NOW, seconds=300, secret=SECRET
        )
    )


def test_a_retry_with_a_fresh_electronic_card_returns_the_first_receipt_and_spends_nothing(
    city: App,
) -> None:
    person = cardholder(city, 1, "A1", fen=50_000)
    first = settle(city, _payload(person.id), "R1", line(12_000))
    fresh = _payload(person.id)

    assert settle(city, fresh, "R1", line(12_000)) == first
    assert settle(city, fresh, "R2", line(1_000)).personal_fen == 1_000  # still unspent
    with pytest.raises(ElectronicCardUsed):
        settle(city, fresh, "R3", line(1_000))


def test_a_retry_with_an_electronic_card_another_sale_spent_is_refused(city: App) -> None:
    person = cardholder(city, 1, "A1", fen=50_000)
    settle(city, _payload(person.id), "R1", line(12_000))
    spent = _payload(person.id)
    settle(city, spent, "R2", line(1_000))

    with pytest.raises(ElectronicCardUsed):
        settle(city, spent, "R1", line(12_000))


def test_a_pin_reset_after_the_card_was_read_is_tried_against_the_new_hash(city: App) -> None:
    """The PIN entered is hashed with the card's number, whatever the card held when it was
    read: entered before a reset at the counter, it meets the new PIN's hash, and a PIN that
    is not the new one is counted wrong, once."""
    if city.engine.dialect.name != "postgresql":
        pytest.skip("the PIN is tried inside the sale on PostgreSQL only")
    cardholder(city, 1, "C1", fen=10_000)
    with city.uow() as uow:
        holder = cards.read_card_holder(uow, "C1")
    stale = cards.presented_pin(holder, PIN, 6)
    assert stale is not None
    with city.uow() as uow:
        cards.reset_pin(uow=uow, card_no="C1", new_pin="112233")
    with city.uow().statement_by_statement() as uow, pytest.raises(WrongPin):
        cards.try_presented_pin(uow=uow, pin=stale)
    assert card_of(city, "C1").failed_pin_tries == 1
    receipt = settle(city, CardAndPin("C1", "112233"), "R2", line(1_000))
    assert receipt.personal_fen == 1_000
    assert card_of(city, "C1").failed_pin_tries == 0


def test_a_locked_pin_is_not_tried_inside_the_sale(city: App) -> None:
    """A PIN locked after the card was read: the sale's try finds it locked and counts
    nothing; the refusal names the lock."""
    cardholder(city, 1, "C1", fen=10_000)
    with city.uow() as uow:
        holder = cards.read_card_holder(uow, "C1")
    presented = cards.presented_pin(holder, PIN, 6)
    assert presented is not None
    for ref in ("W1", "W2", "W3", "W4", "W5"):
        with pytest.raises(WrongPin):
            settle(city, CardAndPin("C1", "000000"), ref, line(1_000))
    with pytest.raises(PinLocked):
        settle(city, CardAndPin("C1", "000000"), "W6", line(1_000))
    assert card_of(city, "C1").failed_pin_tries == 6
    if city.engine.dialect.name == "postgresql":
        with city.uow().statement_by_statement() as uow, pytest.raises(cards.PinNotTried):
            cards.try_presented_pin(uow=uow, pin=presented)
    with pytest.raises(PinLocked):  # the right PIN, but locked: not compared, not counted
        settle(city, "C1", "R1", line(1_000))
    assert card_of(city, "C1").failed_pin_tries == 6
