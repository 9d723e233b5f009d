"""The e-voucher as a credential of its own, and family mutual aid as it works at a hospital:
the patient identifies, the fund pays under the patient's scheme, the bound payer's account
pays the rest. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest

from tests.integration.cards.cardholders import (
    DAY,
    NOW,
    SECRET,
    add_person,
    cardholder,
    ledger_problems,
    medical_balance,
)
from tests.integration.cards.hospital import (
    bill,
    enroll,
    evoucher,
    hospital_city,
    parts,
    pay_resident_year,
)
from yibao.bootstrap import App
from yibao.domain.cards import CardReportedLost
from yibao.domain.errors import InvalidInput
from yibao.domain.pooled import Visit
from yibao.services import cards, settlement
from yibao.services.cards import electronic_card, family
from yibao.services.cards.electronic_card import ElectronicCardUsed, EvoucherSuspended
from yibao.services.settlement import CardAndPin, LineItem, SettleCmd


@pytest.fixture
def hospital(app: App) -> App:
    hospital_city(app)
    return app


def test_a_person_without_a_card_pays_with_the_e_voucher_and_the_fund_pays_its_share(
    hospital: App,
) -> None:
    person = add_person(hospital, 1)
    enroll(hospital, person, "flexible")
    receipt = bill(hospital, person, "IP-1", 130_000, visit=Visit.INPATIENT)
    assert parts(receipt) == (92_000, 0, 38_000)


def test_a_lost_card_does_not_freeze_the_e_voucher(hospital: App) -> None:
    person = cardholder(hospital, 1, "C1")
    enroll(hospital, person, "flexible")
    with hospital.uow() as uow:
        cards.report_loss(uow=uow, id_number=person.id_number, on=DAY)
    with pytest.raises(CardReportedLost):
        bill(hospital, "C1", "OP-1", 30_000)
    assert bill(hospital, person, "OP-2", 30_000).fund_fen == 7_000


def test_an_e_voucher_token_pays_for_one_settlement(hospital: App) -> None:
    person = add_person(hospital, 1)
    enroll(hospital, person, "flexible")
    token = evoucher(hospital, person)
    bill(hospital, token, "OP-1", 30_000)
    assert parts(bill(hospital, token, "OP-1", 30_000)) == (7_000, 0, 23_000)  # its retry
    with pytest.raises(ElectronicCardUsed):
        bill(hospital, token, "OP-2", 30_000)
    assert ledger_problems(hospital) == []


def test_a_suspended_e_voucher_is_refused_until_resumed_and_the_card_still_pays(
    hospital: App,
) -> None:
    person = cardholder(hospital, 1, "C1")
    enroll(hospital, person, "flexible")
    token = evoucher(hospital, person)

    def suspended(active: bool) -> None:
        with hospital.uow() as uow:
            electronic_card.set_evoucher_status(
                uow=uow, id_number=person.id_number, active=active, on=DAY
            )

    suspended(False)
    with pytest.raises(EvoucherSuspended):
        bill(hospital, token, "OP-1", 1_000)
    with pytest.raises(EvoucherSuspended):
        evoucher(hospital, person)
    assert bill(hospital, "C1", "OP-2", 1_000).total_fen == 1_000  # the card is not touched
    suspended(True)
    assert bill(hospital, person, "OP-3", 1_000).total_fen == 1_000


def test_family_aid_the_fund_pays_under_the_patient_s_scheme_and_the_payer_the_rest(
    hospital: App,
) -> None:
    parent = cardholder(hospital, 1, "C1", fen=50_000)
    enroll(hospital, parent, "flexible")
    child = add_person(hospital, 2)  # no card: the e-voucher
    enroll(hospital, child, "resident")
    pay_resident_year(hospital, child, 2024)
    with hospital.uow() as uow:
        family.bind(
            uow=uow,
            id_number=parent.id_number,
            member_id_number=child.id_number,
            relation="child",
            on=DAY,
        )

    receipt = bill(hospital, child, "IP-1", 130_000, visit=Visit.INPATIENT, payer=parent)

    # the resident's level-1 stay: (1300 - 200) x 0.85, and the parent's account pays the rest
    assert parts(receipt) == (93_500, 36_500, 0)
    assert receipt.family_aid
    assert medical_balance(hospital, parent) == 13_500
    assert ledger_problems(hospital) == []


def test_a_patient_not_bound_to_the_payer_is_refused_and_nothing_is_written(
    hospital: App,
) -> None:
    payer = cardholder(hospital, 1, "C1", fen=50_000)
    stranger = cardholder(hospital, 2, "C2")
    enroll(hospital, stranger, "flexible")
    with pytest.raises(family.NotFamilyMember):
        bill(hospital, "C2", "IP-1", 130_000, visit=Visit.INPATIENT, payer=payer)
    assert medical_balance(hospital, payer) == 50_000
    assert ledger_problems(hospital) == []


def test_not_family_member_is_the_refusal_whatever_else_is_wrong(hospital: App) -> None:
    payer = cardholder(hospital, 1, "C1", fen=50_000)
    cardholder(hospital, 2, "C2")  # a stranger to the payer
    with pytest.raises(family.NotFamilyMember):
        bill(hospital, CardAndPin("C2", "000000"), "OP-1", 1_000, payer=payer)  # wrong PIN
    # the wrong PIN was not even tried
    with hospital.uow() as uow:
        assert cards.card_by_number(uow=uow, card_no="C2").failed_pin_tries == 0


def test_the_patient_named_at_the_counter_must_be_the_credential_s(hospital: App) -> None:
    person = cardholder(hospital, 1, "C1")
    other = add_person(hospital, 2)
    cmd = SettleCmd(
        "H001", "OP-1", CardAndPin("C1", "123456"), (LineItem("CARE", 1, 1_000, True),), DAY,
        patient_id_number=other.id_number,
    )  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        settlement.settle(uow_factory=hospital.uow, cmd=cmd, now=NOW, card_secret=SECRET)
    assert refused.value.field == "patient"
    same = dataclasses.replace(cmd, patient_id_number=person.id_number)
    assert settlement.settle(uow_factory=hospital.uow, cmd=same, now=NOW, card_secret=SECRET)
