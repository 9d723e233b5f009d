"""POS settlement, refunds, family mutual aid and settlement with institutions, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.integration.cards.cardholders import (
    AREA,
    DAY,
    NOW,
    SECRET,
    area_document,
    card_of,
    cardholder,
    credit,
    example_city,
    insure,
    ledger_problems,
    line,
    medical_balance,
    settle,
    settlement_count,
    transfer_count,
)
from yibao.adapters.tables import Person
from yibao.bootstrap import App
from yibao.domain.errors import (
    Conflict,
    InvalidInput,
    NotEnrolled,
    UnknownInstitution,
    UnknownPerson,
)
from yibao.domain.idnumber import mask
from yibao.ledger import accounts
from yibao.ledger.errors import IdempotencyConflict
from yibao.services import registry, settlement
from yibao.services.cards import electronic_card, family
from yibao.services.cards.family import NotFamilyMember
from yibao.services.settlement import (
    AlreadyRefunded,
    CardAndPin,
    ElectronicCard,
    LineItem,
    Receipt,
    UnknownRef,
    institution_settlement,
)

NEXT_DAY = DAY + dt.timedelta(days=1)
PHARMACY_PAYABLE = accounts.institution_payable(AREA, "P001")
CLEARING = accounts.settlement_clearing(AREA)


@pytest.fixture
def zhao(city: App) -> Person:
    """Zhao Lei, card A1, 100.00 yuan on the personal account."""
    return cardholder(city, 58, "A1", fen=10_000)


def _refund(app: App, ref: str, on: dt.date = DAY, institution: str | None = None) -> Receipt:
    with app.uow() as uow:
        return settlement.refund(uow=uow, ref=ref, on=on, institution_code=institution)


def _bind(app: App, payer: Person, member: Person, relation: str = "spouse") -> None:
    with app.uow() as uow:
        family.bind(
            uow=uow,
            id_number=payer.id_number,
            member_id_number=member.id_number,
            relation=relation,
            on=DAY,
        )


def _balance(app: App, ref: accounts.AccountRef) -> int:
    with app.uow() as uow:
        return uow.ledger.balance_of(ref)


def _ledger_is_clean(app: App) -> bool:
    return ledger_problems(app) == []


# -- paying at the POS ----------------------------------------------------------------------
def test_the_personal_account_pays_eligible_lines_up_to_its_balance_and_the_rest_is_own(
    city: App, zhao: Person
) -> None:
    receipt = settle(
        city, "A1", "R-1", line(8_000), line(5_000, code="EXAM"), line(3_000, may_pay=False)
    )

    assert receipt.institution_code == "P001"
    assert receipt.ref == "R-1"
    assert receipt.patient == receipt.payer == mask(zhao.id_number)
    assert (receipt.total_fen, receipt.personal_fen, receipt.own_fen) == (16_000, 10_000, 6_000)
    assert receipt.balance_after_fen == 0
    assert receipt.family_aid is False
    assert medical_balance(city, zhao) == 0
    assert _balance(city, PHARMACY_PAYABLE) == 10_000
    assert _ledger_is_clean(city)


def test_lines_the_account_may_not_pay_are_own_payment_whatever_the_balance(
    city: App, zhao: Person
) -> None:
    receipt = settle(city, "A1", "R-1", line(2_500), line(4_000, may_pay=False, quantity=2))

    assert (receipt.total_fen, receipt.personal_fen, receipt.own_fen) == (6_500, 2_500, 4_000)
    assert receipt.balance_after_fen == 7_500


def test_an_empty_personal_account_leaves_everything_to_own_payment_and_posts_nothing(
    city: App, zhao: Person
) -> None:
    settle(city, "A1", "R-1", line(10_000))
    before = transfer_count(city)

    receipt = settle(city, "A1", "R-2", line(3_000))

    assert (receipt.personal_fen, receipt.own_fen, receipt.balance_after_fen) == (0, 3_000, 0)
    assert transfer_count(city) == before
    assert settlement_count(city) == 2


def test_a_retry_with_the_same_institution_and_ref_returns_the_same_receipt_and_posts_once(
    city: App, zhao: Person
) -> None:
    first = settle(city, "A1", "R-1", line(4_000), line(1_000, may_pay=False))

    again = settle(city, "A1", "R-1", line(4_000), line(1_000, may_pay=False))

    assert again == first
    assert settlement_count(city) == 1
    assert transfer_count(city, "settlement") == 1
    assert medical_balance(city, zhao) == 6_000


def test_a_retry_after_other_purchases_still_returns_the_first_receipt(
    city: App, zhao: Person
) -> None:
    first = settle(city, "A1", "R-1", line(4_000))
    settle(city, "A1", "R-2", line(1_000))

    assert settle(city, "A1", "R-1", line(4_000)) == first


def test_the_same_ref_at_another_institution_is_another_settlement(city: App, zhao: Person) -> None:
    settle(city, "A1", "R-1", line(4_000))
    settle(city, "A1", "R-1", line(4_000), institution="H001")

    assert settlement_count(city) == 2
    assert medical_balance(city, zhao) == 2_000


def test_the_same_ref_with_other_lines_is_a_conflict_and_changes_nothing(
    city: App, zhao: Person
) -> None:
    settle(city, "A1", "R-1", line(4_000))

    for other_lines in ((line(4_001),), (line(4_000, may_pay=False),), (line(4_000), line(1))):
        with pytest.raises(Conflict):
            settle(city, "A1", "R-1", *other_lines)

    assert settlement_count(city) == 1
    assert medical_balance(city, zhao) == 6_000


def test_a_ref_whose_posting_key_another_posting_holds_is_refused_and_leaves_nothing(
    city: App, zhao: Person
) -> None:
    credit(city, zhao, 500, key="settle:P001:R-9")  # an unrelated posting took the sale's key
    before = (settlement_count(city), transfer_count(city), medical_balance(city, zhao))

    with pytest.raises(IdempotencyConflict) as refused:
        settle(city, "A1", "R-9", line(4_000))

    assert "settle:P001:R-9" in str(refused.value)
    assert (settlement_count(city), transfer_count(city), medical_balance(city, zhao)) == before
    assert settle(city, "A1", "R-10", line(4_000)).personal_fen == 4_000


def test_an_electronic_card_of_a_person_not_on_record_is_refused(city: App) -> None:
    payload = electronic_card.electronic_card_payload(
        person_id=987_654, area_code=AREA, now=NOW, seconds=300, secret=SECRET
    )

    with pytest.raises(UnknownPerson):
        settle(city, ElectronicCard(payload), "R-1", line(1_000))
    assert settlement_count(city) == 0


def test_the_first_sale_at_an_institution_opens_its_payable(city: App, zhao: Person) -> None:
    with city.uow() as uow:
        assert uow.ledger.find_account(PHARMACY_PAYABLE) is None

    settle(city, "A1", "R-1", line(4_000))

    assert _balance(city, PHARMACY_PAYABLE) == 4_000


def test_an_unknown_institution_is_refused(city: App, zhao: Person) -> None:
    with pytest.raises(UnknownInstitution) as refused:
        settle(city, "A1", "R-1", line(4_000), institution="X999")
    assert refused.value.code == "unknown_institution"
    assert settlement_count(city) == 0


def test_a_terminal_sending_an_unknown_institution_costs_the_card_no_pin_try(
    city: App, zhao: Person
) -> None:
    with pytest.raises(UnknownInstitution):
        settle(city, CardAndPin("A1", "000000"), "R-1", line(4_000), institution="X999")

    assert card_of(city, "A1").failed_pin_tries == 0


def test_an_institution_of_another_planning_area_is_refused(city: App, zhao: Person) -> None:
    with city.uow() as uow:
        registry.load_area(uow=uow, document=area_document(code="420200"))
        registry.add_institution(
            uow=uow, code="P201", name="Other Pharmacy", kind="pharmacy", area_code="420200"
        )
    with pytest.raises(InvalidInput, match="another planning area"):
        settle(city, "A1", "R-1", line(4_000), institution="P201")
    assert medical_balance(city, zhao) == 10_000


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param((LineItem("DRUG-1", 1, -1, True),), id="negative-amount"),
        pytest.param((line(1_000), LineItem("DRUG-2", 0, 1_000, True)), id="zero-quantity"),
        pytest.param((), id="no-lines"),
    ],
)
def test_malformed_lines_are_invalid_input_and_change_nothing(
    city: App, zhao: Person, lines: tuple[LineItem, ...]
) -> None:
    with pytest.raises(InvalidInput):
        settle(city, "A1", "R-1", *lines)

    assert settlement_count(city) == 0
    assert medical_balance(city, zhao) == 10_000


def test_a_free_line_is_accepted(city: App, zhao: Person) -> None:
    receipt = settle(city, "A1", "R-1", line(0), line(1_000))
    assert (receipt.total_fen, receipt.personal_fen) == (1_000, 1_000)


# -- refunds --------------------------------------------------------------------------------
def test_a_refund_puts_back_the_personal_part_once(city: App, zhao: Person) -> None:
    settle(city, "A1", "R-1", line(7_000), line(2_000, may_pay=False))

    receipt = _refund(city, "R-1", on=NEXT_DAY)

    assert (receipt.personal_fen, receipt.own_fen) == (7_000, 2_000)
    assert receipt.balance_after_fen == 10_000
    assert medical_balance(city, zhao) == 10_000
    with pytest.raises(AlreadyRefunded) as refused:
        _refund(city, "R-1", on=NEXT_DAY)
    assert refused.value.code == "already_refunded"
    assert medical_balance(city, zhao) == 10_000
    assert transfer_count(city, "reversal:settlement") == 1
    assert _balance(city, PHARMACY_PAYABLE) == 0
    assert _ledger_is_clean(city)


def test_a_refund_of_an_unknown_ref_is_refused(city: App, zhao: Person) -> None:
    settle(city, "A1", "R-1", line(7_000))
    with pytest.raises(UnknownRef) as refused:
        _refund(city, "R-404")
    assert refused.value.code == "unknown_ref"
    with pytest.raises(UnknownRef):
        _refund(city, "R-1", institution="H001")


def test_a_ref_used_at_two_institutions_needs_the_institution_to_be_refunded(
    city: App, zhao: Person
) -> None:
    settle(city, "A1", "R-1", line(3_000))
    settle(city, "A1", "R-1", line(2_000), institution="H001")

    with pytest.raises(InvalidInput):
        _refund(city, "R-1")
    _refund(city, "R-1", institution="H001")

    assert medical_balance(city, zhao) == 7_000


def test_a_refund_of_a_purchase_paid_all_by_the_person_posts_nothing(
    city: App, zhao: Person
) -> None:
    settle(city, "A1", "R-1", line(3_000, may_pay=False))
    before = transfer_count(city)

    receipt = _refund(city, "R-1")

    assert (receipt.personal_fen, receipt.own_fen) == (0, 3_000)
    assert transfer_count(city) == before
    with pytest.raises(AlreadyRefunded):
        _refund(city, "R-1")


# -- family mutual aid ----------------------------------------------------------------------
@pytest.fixture
def spouse(city: App, zhao: Person) -> Person:
    """Zhao's spouse, card S1, insured, nothing on the personal account."""
    person = cardholder(city, 66, "S1")
    insure(city, person)
    return person


def test_a_bound_spouse_s_bill_is_paid_from_the_payer_s_account(
    city: App, zhao: Person, spouse: Person
) -> None:
    _bind(city, zhao, spouse)

    receipt = settle(city, "S1", "R-1", line(6_000), line(500, may_pay=False), payer=zhao)

    assert receipt.family_aid is True
    assert receipt.patient == mask(spouse.id_number)
    assert receipt.payer == mask(zhao.id_number)
    assert (receipt.personal_fen, receipt.own_fen, receipt.balance_after_fen) == (6_000, 500, 4_000)
    assert medical_balance(city, zhao) == 4_000
    assert medical_balance(city, spouse) == 0
    assert transfer_count(city, "family_settlement") == 1
    assert _ledger_is_clean(city)


def test_paying_for_someone_who_is_not_bound_is_refused(
    city: App, zhao: Person, spouse: Person
) -> None:
    stranger = cardholder(city, 77, "X1")
    insure(city, zhao)
    _bind(city, spouse, zhao)  # the spouse may pay for Zhao, not the other way round

    for patient_card in ("S1", "X1"):
        with pytest.raises(NotFamilyMember) as refused:
            settle(city, patient_card, f"R-{patient_card}", line(1_000), payer=zhao)
        assert refused.value.code == "not_family_member"

    assert settlement_count(city) == 0
    assert medical_balance(city, zhao) == 10_000
    assert stranger.id != spouse.id


def test_binding_oneself_is_invalid_input(city: App, zhao: Person) -> None:
    with pytest.raises(InvalidInput, match="oneself"):
        _bind(city, zhao, zhao)


def test_a_relation_the_policy_does_not_allow_is_invalid_input(
    city: App, zhao: Person, spouse: Person
) -> None:
    with pytest.raises(InvalidInput, match="relation"):
        _bind(city, zhao, spouse, relation="sibling")
    with pytest.raises(NotFamilyMember):
        settle(city, "S1", "R-1", line(1_000), payer=zhao)


def test_a_relation_the_area_adds_to_its_policy_may_be_bound(app: App) -> None:
    example_city(app, family_aid={"relations": ["spouse", "parent", "child", "sibling"]})
    payer, sibling = cardholder(app, 1, "A1", fen=10_000), cardholder(app, 2, "A2")
    insure(app, sibling)

    _bind(app, payer, sibling, relation="sibling")

    assert settle(app, "A2", "R-1", line(1_000), payer=payer).personal_fen == 1_000


def test_a_member_with_no_insurance_cannot_be_bound(city: App, zhao: Person) -> None:
    uninsured = cardholder(city, 88, "U1")

    with pytest.raises(NotEnrolled, match="no medical insurance"):
        _bind(city, zhao, uninsured)

    with pytest.raises(NotFamilyMember):
        settle(city, "U1", "R-1", line(1_000), payer=zhao)
    assert medical_balance(city, zhao) == 10_000


def test_a_bound_member_whose_insurance_ended_is_not_paid_for(city: App, zhao: Person) -> None:
    member = cardholder(city, 99, "M1")
    with city.uow() as uow:
        registry.add_employer(uow=uow, code="E001", name="Example Machinery", area_code=AREA)
        registry.register_employee(
            uow=uow, id_number=member.id_number, employer_code="E001", on=DAY
        )
    _bind(city, zhao, member)
    with city.uow() as uow:
        registry.leave(uow=uow, id_number=member.id_number, employer_code="E001", on=NEXT_DAY)

    with pytest.raises(NotEnrolled, match="no medical insurance"):
        settle(city, "M1", "R-1", line(1_000), payer=zhao, on=NEXT_DAY)

    assert settlement_count(city) == 0
    assert medical_balance(city, zhao) == 10_000


def test_after_unbinding_the_member_s_bill_is_refused(
    city: App, zhao: Person, spouse: Person
) -> None:
    _bind(city, zhao, spouse)
    settle(city, "S1", "R-1", line(1_000), payer=zhao)

    with city.uow() as uow:
        family.unbind(
            uow=uow, id_number=zhao.id_number, member_id_number=spouse.id_number, on=NEXT_DAY
        )

    with pytest.raises(NotFamilyMember):
        settle(city, "S1", "R-2", line(1_000), payer=zhao, on=NEXT_DAY)
    with pytest.raises(NotFamilyMember), city.uow() as uow:
        family.unbind(
            uow=uow, id_number=zhao.id_number, member_id_number=spouse.id_number, on=NEXT_DAY
        )
    assert medical_balance(city, zhao) == 9_000


def test_a_family_payment_is_refunded_to_the_payer(city: App, zhao: Person, spouse: Person) -> None:
    _bind(city, zhao, spouse)
    settle(city, "S1", "R-1", line(4_000), payer=zhao)

    receipt = _refund(city, "R-1")

    assert receipt.balance_after_fen == medical_balance(city, zhao) == 10_000
    assert medical_balance(city, spouse) == 0


# -- settlement with the institutions -------------------------------------------------------
def _statement(
    app: App, day: dt.date, institution: str = "P001"
) -> institution_settlement.DailyStatement:
    with app.uow() as uow:
        return institution_settlement.daily_statement(
            uow=uow, institution_code=institution, day=day
        )


def _clear(app: App, day: dt.date, institution: str = "P001") -> int:
    with app.uow() as uow:
        return institution_settlement.clear_institution(
            uow=uow, institution_code=institution, day=day
        )


@pytest.fixture
def busy_day(city: App) -> App:
    """At P001 on DAY: three sales (one partly own, one refunded that day); elsewhere, others."""
    cardholder(city, 1, "A1", fen=20_000)
    cardholder(city, 2, "A2", fen=5_000)
    settle(city, "A1", "R-1", line(6_000), line(1_000, may_pay=False))
    settle(city, "A2", "R-2", line(8_000))  # 5,000 personal, 3,000 own
    settle(city, "A1", "R-3", line(2_000))
    _refund(city, "R-3")
    settle(city, "A1", "R-4", line(1_500), institution="H001")
    settle(city, "A1", "R-5", line(700), on=NEXT_DAY)
    return city


def test_the_daily_statement_counts_and_sums_the_day_and_reconciles_with_the_ledger(
    busy_day: App,
) -> None:
    statement = _statement(busy_day, DAY)

    assert statement.count == 3
    assert statement.personal_fen == 6_000 + 5_000 + 2_000
    assert statement.own_fen == 1_000 + 3_000
    assert (statement.refunds, statement.refunded_personal_fen) == (1, 2_000)
    assert statement.ledger_net_fen == 11_000
    assert statement.reconciled is True
    assert _statement(busy_day, NEXT_DAY).count == 1
    assert _statement(busy_day, NEXT_DAY).reconciled is True


def test_a_refund_on_a_later_day_is_on_that_day_s_statement(busy_day: App) -> None:
    _refund(busy_day, "R-1", on=NEXT_DAY)

    statement = _statement(busy_day, NEXT_DAY)

    assert (statement.count, statement.refunds, statement.refunded_personal_fen) == (1, 1, 6_000)
    assert statement.reconciled is True


def test_clearing_moves_the_payable_to_clearing_once_a_day(busy_day: App) -> None:
    cleared = _clear(busy_day, DAY)

    assert cleared == 11_000
    assert _clear(busy_day, DAY) == 11_000
    assert transfer_count(busy_day, "clearing") == 1
    with busy_day.uow() as uow:
        assert uow.ledger.balance_of(PHARMACY_PAYABLE, DAY) == 0
        assert uow.ledger.balance_of(CLEARING) == 11_000
    assert _statement(busy_day, DAY).reconciled is True
    assert _ledger_is_clean(busy_day)


def test_the_next_day_s_clearing_pays_only_what_was_owed_since(busy_day: App) -> None:
    _clear(busy_day, DAY)

    assert _clear(busy_day, NEXT_DAY) == 700
    assert _clear(busy_day, NEXT_DAY) == 700
    assert transfer_count(busy_day, "clearing") == 2
    assert _balance(busy_day, PHARMACY_PAYABLE) == 0


def test_an_institution_owed_nothing_is_cleared_nothing(city: App) -> None:
    assert _clear(city, DAY) == 0
    assert transfer_count(city, "clearing") == 0
