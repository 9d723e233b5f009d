"""The person's refusals through the national interface: a lost card, a person in no scheme,
an e-voucher of another area, and the card's PIN, tried and counted as at yibao's own POS in
1101, 2101, 2206 and 2207; an ID card (02) and an e-voucher (01) need none. A refusal writes
nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.e2e.api.world import AREA, CARD, INSIDE, OTHER_AREA, PIN, World, settings_for
from tests.e2e.national.client import Client, written
from tests.e2e.national.test_pharmacy import balance, psn_no, purchase
from yibao.adapters.tables import ElectronicCardUse
from yibao.domain.cards import DEFAULT_PIN_MAX_TRIES
from yibao.domain.idnumber import make_id_number
from yibao.services import cards, registry
from yibao.services.accounts import Role
from yibao.services.cards import electronic_card

WRONG_PIN = "000000"
PIN_PADS = ("1101", "2101", "2206", "2207")  # the transactions that carry a card's PIN


@pytest.fixture(scope="module")
def pharmacy(world: World) -> Client:
    client = Client(world.app, world.client, "P001")
    client.sign_in()
    return client


@pytest.fixture(scope="module")
def hospital(world: World) -> Client:
    with world.app.uow() as uow:
        registry.add_institution(
            uow=uow, code="H001", name="Hospital", kind="hospital", area_code=AREA, level="2"
        )
    client = Client(world.app, world.client, "H001")
    client.sign_in()
    return client


def insured(
    world: World, sequence: int, *, card: str | None, employed: bool = True
) -> tuple[str, str]:
    """A new person of the area (an employee of E001 unless not `employed`), holding `card`
    with the PIN `PIN`: their ID number and psn_no."""
    number = make_id_number("420102", dt.date(1980, 1, 1), sequence)
    with world.app.uow() as uow:
        person = registry.add_person(uow=uow, id_number=number, name="Li Si", area_code=AREA)
        if employed:
            registry.register_employee(
                uow=uow, id_number=number, employer_code="E001", on=dt.date(2024, 1, 5)
            )
        if card is not None:
            cards.issue_card(uow=uow, id_number=number, card_no=card, on=dt.date(2024, 1, 6))
            cards.activate_card(uow=uow, id_number=number, on=dt.date(2024, 1, 6), pin=PIN)
        return number, str(person.id)


def tries(world: World, card: str) -> int:
    with world.app.uow() as uow:
        return int(cards.card_by_number(uow=uow, card_no=card).failed_pin_tries)


def person_info(cert_type: str, cert_no: str, pin: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"mdtrt_cert_type": cert_type, "mdtrt_cert_no": cert_no}
    data.update(dict.fromkeys(("card_sn", "begntime", "psn_cert_type", "certno", "psn_name"), ""))
    if pin is not None:
        data["exp_content"] = {"card_pin": pin}
    return {"data": data}


def sale(
    world: World, person: str, cert_type: str, cert_no: str, pin: str | None
) -> dict[str, Any]:
    """`purchase`'s pharmacy bill of `person`, identified by `cert_type` and `cert_no`."""
    bill = purchase(world)
    bill["druginfo"].update(psn_no=person, mdtrt_cert_type=cert_type, mdtrt_cert_no=cert_no)
    if pin is None:
        del bill["druginfo"]["exp_content"]
    else:
        bill["druginfo"]["exp_content"] = {"card_pin": pin}
    return bill


def evoucher(world: World, id_number: str) -> str:
    """The token the person's phone shows, as the HIS reads it from the QR code."""
    with world.app.uow() as uow:
        return electronic_card.issue_evoucher(
            uow=uow,
            id_number=id_number,
            now=dt.datetime.now(dt.UTC),
            seconds=60,
            secret=settings_for(world.app).card_secret,
        ).token


def refused(answer: dict[str, Any], words: str) -> None:
    assert answer["infcode"] == -1, answer
    assert words in answer["err_msg"], answer["err_msg"]


def test_a_lost_card_is_refused_with_its_right_pin_and_nothing_is_written(
    world: World, pharmacy: Client
) -> None:
    number, person = insured(world, 101, card="C0LOST")
    with world.app.uow() as uow:
        cards.report_loss(uow=uow, id_number=number, on=dt.date(2024, 2, 1))
    counts = written(world.app)
    refused(pharmacy.call("1101", person_info("03", "C0LOST", PIN)), "reported lost")
    for infno in ("2101", "2102"):
        refused(pharmacy.call(infno, sale(world, person, "03", "C0LOST", PIN)), "reported lost")
    assert written(world.app) == counts
    assert tries(world, "C0LOST") == 0


@pytest.mark.parametrize("employed", [False, True], ids=["never-insured", "left-the-employer"])
def test_a_person_in_no_scheme_is_refused_and_nothing_is_written(
    world: World, pharmacy: Client, hospital: Client, employed: bool
) -> None:
    number, person = insured(world, 102 + employed, card=None, employed=employed)
    if employed:
        with world.app.uow() as uow:
            registry.leave(uow=uow, id_number=number, employer_code="E001", on=dt.date(2024, 2, 1))
    counts = written(world.app)
    refused(pharmacy.call("1101", person_info("02", number)), "in no insurance scheme")
    for infno in ("2101", "2102"):
        refused(
            pharmacy.call(infno, sale(world, person, "02", number, None)), "in no insurance scheme"
        )
    registration = {"psn_no": person, "insutype": "310", "begntime": "2024-03-01 09:00:00",
                    "mdtrt_cert_type": "02", "mdtrt_cert_no": number}  # fmt: skip
    refused(hospital.call("2201", {"data": registration}), "in no insurance scheme")
    assert written(world.app) == counts


def test_a_wrong_pin_is_counted_in_every_transaction_until_the_card_locks(
    world: World, pharmacy: Client, hospital: Client
) -> None:
    """1101, 2101, 2206 and 2207 count wrong PINs on the card's one counter, which yibao's own
    POS counts on too: at the policy's limit the PIN locks there as well."""
    _, person = insured(world, 104, card="C0PIN")
    registration = {"psn_no": person, "begntime": "2024-03-01 09:00:00",
                    "mdtrt_cert_type": "03", "mdtrt_cert_no": "C0PIN"}  # fmt: skip
    visit = hospital.call("2201", {"data": registration})
    mdtrt_id = visit["output"]["data"]["mdtrt_id"]
    fee = {"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": person, "chrg_bchno": "B1",
           "fee_ocur_time": "2024-03-01 10:00:00", "med_list_codg": "EXAM",
           "det_item_fee_sumamt": Decimal("20.00"), "cnt": 1, "pric": Decimal("20.00")}  # fmt: skip
    assert hospital.call("2204", {"feedetail": [fee]})["infcode"] == 0

    def at_the_counter(infno: str, pin: str) -> dict[str, Any]:
        if infno == "1101":
            return pharmacy.call(infno, person_info("03", "C0PIN", pin))
        if infno == "2101":
            return pharmacy.call(infno, sale(world, person, "03", "C0PIN", pin))
        data = {"psn_no": person, "mdtrt_cert_type": "03", "mdtrt_cert_no": "C0PIN",
                "mdtrt_id": mdtrt_id, "medfee_sumamt": Decimal("20.00"), "psn_setlway": "01",
                "acct_used_flag": "1", "exp_content": {"card_pin": pin}}  # fmt: skip
        return hospital.call(infno, {"data": data})

    refused(at_the_counter("1101", WRONG_PIN), "wrong PIN")
    assert at_the_counter("1101", PIN)["infcode"] == 0  # the right PIN clears the count
    assert tries(world, "C0PIN") == 0
    counts = written(world.app)
    for count in range(1, DEFAULT_PIN_MAX_TRIES + 1):
        infno = PIN_PADS[(count - 1) % len(PIN_PADS)]
        last = count == DEFAULT_PIN_MAX_TRIES
        refused(at_the_counter(infno, WRONG_PIN), "now locked" if last else "wrong PIN")
        assert tries(world, "C0PIN") == count, infno
    for infno in PIN_PADS:  # the right PIN no longer opens the card
        refused(at_the_counter(infno, PIN), "locked")
    assert written(world.app) == counts
    at_pos = world.client.post(
        "/api/v1/pos/settlements",
        json={
            "institution": "P001",
            "ref": "POS-LOCKED",
            "card": "C0PIN",
            "pin": PIN,
            "items": [{"code": "EXAM", "quantity": 1, "amount": "20.00"}],
        },
        headers=world.headers(Role.INSTITUTION, key=True),
    )
    assert at_pos.status_code == 409, at_pos.text
    assert at_pos.json()["code"] == "pin_locked"


def test_an_e_voucher_of_another_area_is_refused_and_nothing_is_written(
    world: World, pharmacy: Client
) -> None:
    """What another area's database issues for its person with the same internal id, signed
    with the same key: here that id is another person, who must not be found nor pay."""
    person, before, counts = psn_no(world), balance(world), written(world.app)
    token = electronic_card.electronic_card_payload(
        person_id=int(person),
        area_code=OTHER_AREA,
        now=dt.datetime.now(dt.UTC),
        seconds=60,
        secret=settings_for(world.app).card_secret,
    )
    words = f"is of area {OTHER_AREA}; this person is not insured there"
    refused(pharmacy.call("1101", person_info("01", token)), words)
    for infno in ("2101", "2102"):
        refused(pharmacy.call(infno, sale(world, person, "01", token, None)), words)
    assert written(world.app) == counts
    assert balance(world) == before
    with world.app.uow() as uow:
        spent = uow.session.scalar(
            select(func.count())
            .select_from(ElectronicCardUse)
            .where(ElectronicCardUse.nonce == token.split(".")[3])
        )
    assert spent == 0


def test_an_id_card_or_an_e_voucher_needs_no_pin(world: World, pharmacy: Client) -> None:
    person, before, card_tries = psn_no(world), balance(world), tries(world, CARD)
    for cert_type, cert_no in (("02", INSIDE), ("01", evoucher(world, INSIDE))):
        info = pharmacy.call("1101", person_info(cert_type, cert_no))
        assert info["infcode"] == 0, info
        assert info["output"]["baseinfo"]["psn_no"] == person
        pre = pharmacy.call("2101", sale(world, person, cert_type, cert_no, None))
        assert pre["infcode"] == 0, pre
    paid = 0
    for cert_type, cert_no in (("02", INSIDE), ("01", evoucher(world, INSIDE))):
        done = pharmacy.call("2102", sale(world, person, cert_type, cert_no, None))
        assert done["infcode"] == 0, done
        assert done["output"]["setlinfo"]["mdtrt_cert_type"] == cert_type
        paid += round(done["output"]["setlinfo"]["acct_pay"] * 100)
    assert balance(world) == before - paid
    assert tries(world, CARD) == card_tries
