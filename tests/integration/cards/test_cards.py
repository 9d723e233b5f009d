"""Social security cards on SQLite and PostgreSQL: activation, PIN, loss, replacement."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable

import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

from tests.integration.cards.cardholders import (
    DAY,
    PIN,
    add_person,
    card_of,
    cardholder,
    example_city,
    line,
    medical_balance,
    settle,
    settlement_count,
)
from yibao.adapters.tables import Card
from yibao.bootstrap import App
from yibao.domain.cards import (
    CardNotActivated,
    CardReplaced,
    CardReportedLost,
    CardStatus,
    NoCard,
    PinLocked,
    UnknownCard,
    WrongPin,
)
from yibao.domain.errors import Conflict, InvalidInput, UnknownInstitution
from yibao.ledger.errors import ValueDateInFuture
from yibao.services import cards
from yibao.services.settlement import CardAndPin


def _set_pin(
    app: App, card_no: str, new_pin: str, *, old_pin: str | None = None, at_counter: bool = False
) -> None:
    if at_counter:
        with app.uow() as uow:
            cards.reset_pin(uow=uow, card_no=card_no, new_pin=new_pin)
        return
    cards.change_pin(
        uow_factory=app.uow, card_no=card_no, old_pin=old_pin or "", new_pin=new_pin, on=DAY
    )


def _report_loss(app: App, id_number: str) -> None:
    with app.uow() as uow:
        cards.report_loss(uow=uow, id_number=id_number, on=DAY)


def _replace(app: App, id_number: str, new_card_no: str) -> int:
    with app.uow() as uow:
        return cards.replace_card(uow=uow, id_number=id_number, new_card_no=new_card_no, on=DAY).id


def _try_pins(app: App, card_no: str, pin: str, times: int) -> list[str]:
    """Present `pin` `times` times at the POS; the refusal codes in order."""
    codes = []
    for attempt in range(times):
        with pytest.raises((WrongPin, PinLocked)) as refused:
            settle(app, CardAndPin(card_no, pin), f"R-{attempt}", line(1_000))
        codes.append(refused.value.code)
    return codes


# -- issue and activation -------------------------------------------------------------------
def test_an_issued_card_is_not_usable_until_its_medical_function_is_activated(city: App) -> None:
    person = add_person(city, 1)
    with city.uow() as uow:
        cards.issue_card(uow=uow, id_number=person.id_number, card_no="A1", on=DAY)
    assert card_of(city, "A1").status == CardStatus.ISSUED
    with pytest.raises(CardNotActivated):
        settle(city, "A1", "R-1", line(1_000))

    with city.uow() as uow:
        cards.activate_card(uow=uow, id_number=person.id_number, on=DAY, pin=PIN)

    card = card_of(city, "A1")
    assert card.status == CardStatus.ACTIVE
    assert card.medical_activated_on == DAY
    assert card.pin_hash is not None
    assert card.pin_hash.startswith("$hmac-sha256$keyed$")
    assert PIN not in card.pin_hash
    assert settle(city, "A1", "R-1", line(1_000)).total_fen == 1_000


def test_a_pin_that_is_not_six_digits_is_refused_at_activation_and_the_card_stays_issued(
    city: App,
) -> None:
    person = add_person(city, 1)
    with city.uow() as uow:
        cards.issue_card(uow=uow, id_number=person.id_number, card_no="A1", on=DAY)
    for bad_pin in ("12345", "1234567", "12345a"):
        with pytest.raises(InvalidInput), city.uow() as uow:
            cards.activate_card(uow=uow, id_number=person.id_number, on=DAY, pin=bad_pin)
    assert card_of(city, "A1").status == CardStatus.ISSUED
    assert card_of(city, "A1").pin_hash is None


def test_a_second_card_is_refused_while_the_person_holds_one(city: App) -> None:
    person = cardholder(city, 1, "A1")
    with pytest.raises(Conflict), city.uow() as uow:
        cards.issue_card(uow=uow, id_number=person.id_number, card_no="A2", on=DAY)

    _report_loss(city, person.id_number)
    with pytest.raises(Conflict, match="replace"), city.uow() as uow:
        cards.issue_card(uow=uow, id_number=person.id_number, card_no="A2", on=DAY)


def test_issuing_the_same_card_again_is_a_retry_and_another_person_s_number_is_a_conflict(
    city: App,
) -> None:
    first, second = add_person(city, 1), add_person(city, 2)
    with city.uow() as uow:
        issued = cards.issue_card(uow=uow, id_number=first.id_number, card_no="A1", on=DAY).id
    with city.uow() as uow:
        again = cards.issue_card(uow=uow, id_number=first.id_number, card_no="A1", on=DAY).id
    assert again == issued
    with pytest.raises(Conflict), city.uow() as uow:
        cards.issue_card(uow=uow, id_number=second.id_number, card_no="A1", on=DAY)


def test_a_card_number_nobody_holds_is_refused_at_the_pos(city: App) -> None:
    cardholder(city, 1, "A1")
    with pytest.raises(UnknownCard):
        settle(city, "NOSUCHCARD", "R-1", line(1_000))
    assert settlement_count(city) == 0


def test_a_person_without_a_card_cannot_activate_one(city: App) -> None:
    person = add_person(city, 1)
    with pytest.raises(NoCard), city.uow() as uow:
        cards.activate_card(uow=uow, id_number=person.id_number, on=DAY, pin=PIN)


# -- PIN ------------------------------------------------------------------------------------
def test_a_wrong_pin_is_counted_even_though_the_settlement_is_refused(city: App) -> None:
    person = cardholder(city, 1, "A1", fen=50_000)

    assert _try_pins(city, "A1", "999999", times=1) == ["wrong_pin"]

    assert card_of(city, "A1").failed_pin_tries == 1
    assert settlement_count(city) == 0
    assert medical_balance(city, person) == 50_000


def test_the_sixth_wrong_pin_locks_the_card_and_then_even_the_right_pin_is_refused(
    city: App,
) -> None:
    person = cardholder(city, 1, "A1", fen=50_000)

    codes = _try_pins(city, "A1", "999999", times=7)

    assert codes == ["wrong_pin"] * 5 + ["pin_locked"] * 2
    assert card_of(city, "A1").failed_pin_tries == 6
    with pytest.raises(PinLocked):
        settle(city, "A1", "R-right-pin", line(1_000))
    assert settlement_count(city) == 0
    assert medical_balance(city, person) == 50_000


def test_a_locked_pin_is_not_compared_with_its_hash(
    city: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    cardholder(city, 1, "A1")
    _try_pins(city, "A1", "999999", times=6)
    compared: list[str] = []
    monkeypatch.setattr(cards, "_pin_matches", lambda pin_hash, pin: compared.append(pin) or True)

    with pytest.raises(PinLocked):
        settle(city, "A1", "R-right-pin", line(1_000))

    assert compared == []
    assert card_of(city, "A1").failed_pin_tries == 6


def test_the_area_policy_sets_how_many_wrong_pins_lock_the_card(app: App) -> None:
    example_city(app, card={"pin_max_tries": 3})
    cardholder(app, 1, "A1")

    assert _try_pins(app, "A1", "999999", times=3) == ["wrong_pin", "wrong_pin", "pin_locked"]


def test_the_right_pin_clears_the_count_of_wrong_ones(city: App) -> None:
    cardholder(city, 1, "A1")
    _try_pins(city, "A1", "999999", times=5)

    settle(city, "A1", "R-ok", line(1_000))

    assert card_of(city, "A1").failed_pin_tries == 0
    assert _try_pins(city, "A1", "999999", times=1) == ["wrong_pin"]


def test_a_right_pin_whose_sale_is_refused_still_clears_the_count(city: App) -> None:
    person = cardholder(city, 1, "A1", fen=50_000)
    _try_pins(city, "A1", "999999", times=2)

    with pytest.raises(ValueDateInFuture):
        settle(city, "A1", "R-future", line(1_000), on=DAY + dt.timedelta(days=3650))

    assert card_of(city, "A1").failed_pin_tries == 0
    assert settlement_count(city) == 0
    assert medical_balance(city, person) == 50_000


def test_a_right_pin_for_a_sale_before_the_card_s_activation_still_clears_the_count(
    city: App,
) -> None:
    cardholder(city, 1, "A1", fen=50_000)
    _try_pins(city, "A1", "999999", times=2)

    with pytest.raises(CardNotActivated):
        settle(city, "A1", "R-early", line(1_000), on=DAY - dt.timedelta(days=1))

    assert card_of(city, "A1").failed_pin_tries == 0
    assert settlement_count(city) == 0


def test_a_pin_presented_at_an_unknown_institution_is_not_counted(city: App) -> None:
    cardholder(city, 1, "A1")

    with pytest.raises(UnknownInstitution):
        settle(city, CardAndPin("A1", "999999"), "R-1", line(1_000), institution="NOPE")

    assert card_of(city, "A1").failed_pin_tries == 0


@pytest.mark.parametrize(
    "earlier",
    [
        pytest.param(lambda: PasswordHasher(time_cost=2, memory_cost=1024).hash(PIN), id="argon2"),
        pytest.param(
            lambda: (
                "$hmac-sha256"
                + PasswordHasher(time_cost=1, memory_cost=256, parallelism=1).hash(
                    hmac.new(cards._pin_pepper, PIN.encode(), hashlib.sha256).hexdigest()
                )
            ),
            id="argon2-peppered",
        ),
    ],
)
def test_a_pin_hashed_by_an_earlier_version_is_renewed_keyed_when_entered_right(
    city: App, earlier: Callable[[], str]
) -> None:
    cardholder(city, 1, "A1")
    older = earlier()
    with city.uow() as uow:
        uow.session.execute(update(Card).where(Card.card_no == "A1").values(pin_hash=older))
    with pytest.raises(WrongPin):  # a wrong PIN does not renew it
        settle(city, CardAndPin("A1", "999999"), "R-0", line(1_000))
    assert card_of(city, "A1").pin_hash == older

    settle(city, "A1", "R-1", line(1_000))

    renewed = str(card_of(city, "A1").pin_hash)
    assert renewed.startswith("$hmac-sha256$keyed$")
    salt, digest = renewed.removeprefix("$hmac-sha256$keyed$").split("$")
    assert digest == hmac.new(cards._pin_pepper, f"{salt}${PIN}".encode(), "sha256").hexdigest()
    assert settle(city, "A1", "R-2", line(1_000)).total_fen == 1_000


def test_two_cards_with_the_same_pin_have_different_hashes(city: App) -> None:
    cardholder(city, 1, "A1")
    cardholder(city, 2, "A2")

    assert card_of(city, "A1").pin_hash != card_of(city, "A2").pin_hash


def test_a_pin_hash_cannot_be_matched_without_the_pepper_it_was_made_with(
    city: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    cardholder(city, 1, "A1")  # hashed with the development pepper
    monkeypatch.setattr(cards, "_pin_pepper", b"another-pepper-" * 3)

    with pytest.raises(WrongPin):
        settle(city, "A1", "R-1", line(1_000))

    assert settlement_count(city) == 0


def test_a_pin_reset_at_the_counter_unlocks_the_card(city: App) -> None:
    cardholder(city, 1, "A1")
    _try_pins(city, "A1", "999999", times=6)

    _set_pin(city, "A1", "654321", at_counter=True)

    assert card_of(city, "A1").failed_pin_tries == 0
    assert settle(city, CardAndPin("A1", "654321"), "R-new-pin", line(1_000)).total_fen == 1_000
    with pytest.raises(WrongPin):
        settle(city, CardAndPin("A1", PIN), "R-old-pin", line(1_000))


def test_the_pin_is_changed_with_the_old_one(city: App) -> None:
    cardholder(city, 1, "A1")

    _set_pin(city, "A1", "654321", old_pin=PIN)

    assert settle(city, CardAndPin("A1", "654321"), "R-new-pin", line(1_000)).total_fen == 1_000
    with pytest.raises(WrongPin):
        settle(city, CardAndPin("A1", PIN), "R-old-pin", line(1_000))


def test_the_pin_is_not_changed_without_the_right_old_pin_or_to_a_malformed_one(
    city: App,
) -> None:
    cardholder(city, 1, "A1")
    with pytest.raises(WrongPin):
        _set_pin(city, "A1", "654321", old_pin="000000")
    with pytest.raises(InvalidInput):
        _set_pin(city, "A1", "654321")
    with pytest.raises(InvalidInput):
        _set_pin(city, "A1", "6543", old_pin=PIN)

    assert settle(city, CardAndPin("A1", PIN), "R-same-pin", line(1_000)).total_fen == 1_000


def test_a_locked_card_cannot_be_unlocked_by_changing_the_pin_with_the_old_one(
    city: App,
) -> None:
    cardholder(city, 1, "A1")
    _try_pins(city, "A1", "999999", times=6)

    with pytest.raises(PinLocked):
        _set_pin(city, "A1", "654321", old_pin=PIN)


def test_wrong_old_pins_in_a_pin_change_count_toward_the_lock(city: App) -> None:
    cardholder(city, 1, "A1")
    for _ in range(6):
        with pytest.raises((WrongPin, PinLocked)):
            _set_pin(city, "A1", "654321", old_pin="000000")

    with pytest.raises(PinLocked):
        settle(city, "A1", "R-after-guesses", line(1_000))


# -- loss and replacement -------------------------------------------------------------------
def test_a_card_reported_lost_is_refused_at_the_pos_and_nothing_changes(city: App) -> None:
    person = cardholder(city, 1, "A1", fen=50_000)
    settle(city, "A1", "R-before", line(1_000))
    _report_loss(city, person.id_number)

    with pytest.raises(CardReportedLost) as refused:
        settle(city, "A1", "R-after", line(1_000))

    assert refused.value.code == "card_reported_lost"
    assert card_of(city, "A1").status == CardStatus.LOST
    assert card_of(city, "A1").lost_on == DAY
    assert settlement_count(city) == 1
    assert medical_balance(city, person) == 49_000


def test_a_lost_card_cannot_be_activated_or_given_a_new_pin(city: App) -> None:
    person = cardholder(city, 1, "A1")
    _report_loss(city, person.id_number)

    with pytest.raises(CardReportedLost), city.uow() as uow:
        cards.activate_card(uow=uow, id_number=person.id_number, on=DAY, pin="654321")
    with pytest.raises(CardReportedLost):
        _set_pin(city, "A1", "654321", at_counter=True)


def test_the_replacement_card_works_with_the_same_pin_and_the_old_number_is_refused(
    city: App,
) -> None:
    person = cardholder(city, 1, "A1", fen=50_000)
    _report_loss(city, person.id_number)

    _replace(city, person.id_number, "B1")

    assert card_of(city, "B1").status == CardStatus.ACTIVE
    assert settle(city, CardAndPin("B1", PIN), "R-new-card", line(1_000)).personal_fen == 1_000
    with pytest.raises(CardReplaced) as refused:
        settle(city, CardAndPin("A1", PIN), "R-old-card", line(1_000))
    assert refused.value.code == "card_replaced"
    assert card_of(city, "A1").replaced_by_card_id == card_of(city, "B1").id


def test_a_replaced_card_stays_dead_whatever_happens_to_the_new_one(city: App) -> None:
    person = cardholder(city, 1, "A1")
    _replace(city, person.id_number, "B1")
    assert _replace(city, person.id_number, "B1") == card_of(city, "B1").id  # a retry
    _report_loss(city, person.id_number)
    _replace(city, person.id_number, "C1")

    for dead in ("A1", "B1"):
        with pytest.raises(CardReplaced):
            settle(city, dead, f"R-{dead}", line(1_000))
        with pytest.raises(CardReplaced):
            _set_pin(city, dead, "654321", at_counter=True)
    with pytest.raises(Conflict):
        _replace(city, person.id_number, "A1")
    assert settle(city, "C1", "R-C1", line(1_000)).total_fen == 1_000


def test_the_balance_stays_with_the_person_across_a_replacement(city: App) -> None:
    person = cardholder(city, 1, "A1", fen=50_000)
    settle(city, "A1", "R-1", line(10_000))
    _report_loss(city, person.id_number)
    _replace(city, person.id_number, "B1")

    assert medical_balance(city, person) == 40_000
    receipt = settle(city, "B1", "R-2", line(15_000))
    assert receipt.balance_after_fen == 25_000
    assert medical_balance(city, person) == 25_000
