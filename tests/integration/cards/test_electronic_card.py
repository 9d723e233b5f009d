"""The electronic card (QR) payload on SQLite and PostgreSQL: genuine, short-lived, spent once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests.integration.cards.cardholders import (
    AREA,
    NOW,
    SECRET,
    area_document,
    cardholder,
    example_city,
    line,
    medical_balance,
    settle,
    settlement_count,
    transfer_count,
)
from yibao.adapters.tables import ElectronicCardUse, Person
from yibao.bootstrap import App
from yibao.domain.cards import CardReportedLost
from yibao.domain.errors import Conflict, InvalidInput, UnknownArea
from yibao.domain.idnumber import make_id_number
from yibao.services import cards, registry
from yibao.services.cards.electronic_card import (
    ElectronicCardUsed,
    InvalidElectronicCard,
    electronic_card_payload,
)
from yibao.services.settlement import ElectronicCard


def _payload(
    person_id: int,
    *,
    area: str = AREA,
    now: dt.datetime = NOW,
    secret: str = SECRET,
    seconds: int = 300,
) -> ElectronicCard:
    return ElectronicCard(
        electronic_card_payload(
            person_id=person_id, area_code=area, now=now, seconds=seconds, secret=secret
        )
    )


def _uses(app: App) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(ElectronicCardUse)) or 0)


def _nothing_written(app: App, *balances: tuple[Person, int]) -> None:
    assert (settlement_count(app), transfer_count(app, "settlement"), _uses(app)) == (0, 0, 0)
    for person, fen in balances:
        assert medical_balance(app, person) == fen


def test_an_electronic_card_pays_at_the_pos_without_a_pin(city: App) -> None:
    person = cardholder(city, 1, "A1", fen=50_000)

    receipt = settle(city, _payload(person.id), "R-qr", line(12_000))

    assert receipt.personal_fen == 12_000
    assert receipt.balance_after_fen == 38_000
    assert medical_balance(city, person) == 38_000
    assert _uses(city) == 1


def test_an_electronic_card_pays_for_one_sale_and_a_second_sale_with_it_is_refused(
    city: App,
) -> None:
    person = cardholder(city, 1, "A1", fen=50_000)
    payload = _payload(person.id)
    settle(city, payload, "R-first", line(12_000))

    with pytest.raises(ElectronicCardUsed) as refused:
        settle(city, payload, "R-second", line(12_000))
    with pytest.raises(ElectronicCardUsed):
        settle(city, payload, "R-first", line(12_000), institution="H001")

    assert refused.value.code == "evoucher_used"
    assert settlement_count(city) == 1
    assert medical_balance(city, person) == 38_000
    assert settle(city, _payload(person.id), "R-second", line(1_000)).personal_fen == 1_000


def test_a_retry_of_the_sale_an_electronic_card_paid_for_returns_its_first_receipt(
    city: App,
) -> None:
    person = cardholder(city, 1, "A1", fen=50_000)
    payload = _payload(person.id)
    first = settle(city, payload, "R-qr", line(12_000))

    again = settle(city, payload, "R-qr", line(12_000))

    assert again == first
    assert transfer_count(city, "settlement") == 1
    assert medical_balance(city, person) == 38_000
    with pytest.raises(Conflict):
        settle(city, payload, "R-qr", line(13_000))


def test_a_refused_sale_does_not_spend_the_electronic_card(city: App) -> None:
    person = cardholder(city, 1, "A1", fen=50_000)
    with city.uow() as uow:
        registry.load_area(uow=uow, document=area_document("420200"))
        registry.add_institution(
            uow=uow, code="P201", name="Other Pharmacy", kind="pharmacy", area_code="420200"
        )
    payload = _payload(person.id)

    with pytest.raises(InvalidInput, match="another planning area"):
        settle(city, payload, "R-qr", line(12_000), institution="P201")

    _nothing_written(city, (person, 50_000))
    assert settle(city, payload, "R-qr", line(12_000)).personal_fen == 12_000


def test_an_expired_electronic_card_is_refused_and_nothing_changes(city: App) -> None:
    person = cardholder(city, 1, "A1", fen=50_000)
    payload = _payload(person.id, now=NOW - dt.timedelta(minutes=6))

    with pytest.raises(InvalidElectronicCard, match="expired"):
        settle(city, payload, "R-qr", line(12_000))

    _nothing_written(city, (person, 50_000))


def test_an_electronic_card_valid_for_longer_than_allowed_is_refused(city: App) -> None:
    person = cardholder(city, 1, "A1", fen=50_000)
    payload = _payload(person.id, seconds=3_600)  # signed with the real key

    with pytest.raises(InvalidElectronicCard, match="more than 300 seconds"):
        settle(city, payload, "R-qr", line(12_000))

    _nothing_written(city, (person, 50_000))
    assert settle(city, _payload(person.id, seconds=300), "R-qr", line(1_000)).total_fen == 1_000


def _tampered(payload: str, how: str, other_person_id: int) -> str:
    area, person, expires, nonce, signature = payload.split(".")
    if how == "another-person":
        return f"{area}.{other_person_id}.{expires}.{nonce}.{signature}"
    if how == "another-area":
        return f"420200.{person}.{expires}.{nonce}.{signature}"
    if how == "no-area":
        return f"{person}.{expires}.{nonce}.{signature}"
    if how == "later-expiry":
        return f"{area}.{person}.{int(expires) + 60}.{nonce}.{signature}"
    if how == "another-nonce":
        return f"{area}.{person}.{expires}.{nonce[::-1]}.{signature}"
    if how == "no-nonce":
        return f"{area}.{person}.{expires}.{signature}"
    if how == "signature":
        return f"{area}.{person}.{expires}.{nonce}.{signature[::-1]}"
    return "not-a-code"


@pytest.mark.parametrize(
    "how",
    [
        "another-person",
        "another-area",
        "no-area",
        "later-expiry",
        "another-nonce",
        "no-nonce",
        "signature",
        "garbage",
    ],
)
def test_a_tampered_electronic_card_is_refused_and_nothing_changes(city: App, how: str) -> None:
    person = cardholder(city, 1, "A1", fen=50_000)
    other = cardholder(city, 2, "A2", fen=50_000)
    payload = _tampered(_payload(person.id).payload, how, other.id)

    with pytest.raises(InvalidElectronicCard):
        settle(city, ElectronicCard(payload), "R-qr", line(12_000))

    _nothing_written(city, (person, 50_000), (other, 50_000))


def test_a_tampered_area_is_refused_as_not_genuine(city: App) -> None:
    """The area is in the signed body: a payload of area 420200 made to say 420100 (the
    person's own) is not the payload that was signed."""
    person = cardholder(city, 1, "A1", fen=50_000)
    _, rest = _payload(person.id, area="420200").payload.split(".", 1)

    with pytest.raises(InvalidElectronicCard, match="not genuine"):
        settle(city, ElectronicCard(f"{AREA}.{rest}"), "R-qr", line(12_000))

    _nothing_written(city, (person, 50_000))


# -- the payload's area -----------------------------------------------------------------------
def test_an_electronic_card_of_another_area_is_refused_and_nothing_changes(city: App) -> None:
    """Another area's database signs its own person ids with the same key: its payload for its
    person `person.id` names another person here, whose account must not pay."""
    person = cardholder(city, 1, "A1", fen=50_000)
    settle(city, "A1", "R-0", line(100))  # the pharmacy's payable open: the common sale
    before = (settlement_count(city), transfer_count(city, "settlement"), _uses(city))

    with pytest.raises(InvalidElectronicCard) as refused:
        settle(city, _payload(person.id, area="other"), "R-qr", line(12_000))

    assert str(refused.value) == (
        "the electronic card code is of area other; this person is not insured there"
    )
    assert refused.value.code == "invalid_electronic_card"
    assert person.id_number not in str(refused.value)
    assert (settlement_count(city), transfer_count(city, "settlement"), _uses(city)) == before
    assert medical_balance(city, person) == 49_900
    assert settle(city, _payload(person.id), "R-qr", line(12_000)).personal_fen == 12_000


def test_an_electronic_card_of_one_area_does_not_pay_for_a_person_of_another(city: App) -> None:
    """In one database too: a payload signed for area 420100 does not name a person of
    420200, at that area's pharmacy (the one-statement sale's own-area case) or anywhere."""
    with city.uow() as uow:
        registry.load_area(uow=uow, document=area_document("420200"))
        registry.add_institution(
            uow=uow, code="P201", name="Other Pharmacy", kind="pharmacy", area_code="420200"
        )
        wu = registry.add_person(
            uow=uow,
            id_number=make_id_number("420202", dt.date(1980, 4, 1), 9),
            name="Wu",
            area_code="420200",
        )

    for institution in ("P201", "P001"):
        with pytest.raises(InvalidElectronicCard, match="is of area 420100"):
            settle(city, _payload(wu.id), "R-qr", line(1_000), institution=institution)

    assert (settlement_count(city), _uses(city)) == (0, 0)


def test_an_electronic_card_signed_with_another_key_is_refused(city: App) -> None:
    person = cardholder(city, 1, "A1", fen=50_000)

    with pytest.raises(InvalidElectronicCard, match="genuine"):
        settle(city, _payload(person.id, secret="another-key"), "R-qr", line(1_000))

    _nothing_written(city, (person, 50_000))


# -- a lost card ------------------------------------------------------------------------------
def _lose_card(app: App, person_id_number: str) -> None:
    with app.uow() as uow:
        cards.report_loss(uow=uow, id_number=person_id_number, on=NOW.date())


def test_a_lost_card_does_not_stop_the_electronic_card_by_default(city: App) -> None:
    person = cardholder(city, 1, "A1", fen=50_000)
    _lose_card(city, person.id_number)

    assert settle(city, _payload(person.id), "R-qr", line(12_000)).personal_fen == 12_000


def test_a_lost_card_stops_the_electronic_card_where_the_area_s_policy_says_so(app: App) -> None:
    example_city(app, card={"evoucher_stops_with_lost_card": True})
    person = cardholder(app, 1, "A1", fen=50_000)
    other = cardholder(app, 2, "A2", fen=50_000)
    _lose_card(app, person.id_number)

    with pytest.raises(CardReportedLost, match="stops the electronic card"):
        settle(app, _payload(person.id), "R-qr", line(12_000))

    _nothing_written(app, (person, 50_000))
    assert settle(app, _payload(other.id), "R-other", line(1_000)).personal_fen == 1_000


def test_the_policy_flag_that_stops_the_electronic_card_must_be_true_or_false(app: App) -> None:
    with pytest.raises(InvalidInput, match="evoucher_stops_with_lost_card"):
        example_city(app, card={"evoucher_stops_with_lost_card": "sometimes"})
    with pytest.raises(UnknownArea), app.uow() as uow:
        registry.policy_schedule(uow=uow, area_code=AREA)
