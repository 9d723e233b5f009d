"""Value dates of sales and refunds: none before the card could pay, before the paying account's
last posting, after today, or (a refund) before its sale; a refusal writes nothing.

Each of these was accepted before and could make `ledger balance --as-of` negative.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.integration.cards.cardholders import (
    AREA,
    DAY,
    NOW,
    SECRET,
    cardholder,
    credit,
    line,
    medical_balance,
    settle,
    settlement_count,
    transfer_count,
)
from yibao.adapters.tables import Person
from yibao.bootstrap import App
from yibao.ledger import accounts
from yibao.ledger.check import check_books
from yibao.ledger.errors import ValueDateBeforeLastPosting, ValueDateInFuture
from yibao.services import settlement
from yibao.services.cards import electronic_card
from yibao.services.settlement import (
    ElectronicCard,
    Receipt,
    RefundBeforeSale,
    SaleBeforeCardActivation,
)

TODAY = DAY + dt.timedelta(days=10)


@pytest.fixture
def clocked(city: App) -> App:
    """The city on a fixed day, `TODAY`: the tests do not depend on the real date."""
    return App(city.engine, today=lambda: TODAY)


@pytest.fixture
def zhao(clocked: App) -> Person:
    """Zhao Lei, card A1 activated on DAY, 100.00 yuan credited on DAY."""
    return cardholder(clocked, 58, "A1", fen=10_000)


def _refund(app: App, ref: str, on: dt.date) -> Receipt:
    with app.uow() as uow:
        return settlement.refund(uow=uow, ref=ref, on=on)


def _never_negative_as_of(app: App, person: Person) -> bool:
    account = accounts.personal_account(AREA, person.id)
    with app.uow() as uow:
        days = (DAY + dt.timedelta(days=n) for n in range(-3, 12))
        return all(uow.ledger.balance_of(account, as_of=day) >= 0 for day in days)


def test_a_sale_dated_before_the_card_was_activated_is_refused(clocked: App, zhao: Person) -> None:
    with pytest.raises(SaleBeforeCardActivation) as refused:
        settle(clocked, "A1", "R-1", line(1_000), on=DAY - dt.timedelta(days=1))

    assert refused.value.code == "card_not_activated"  # the scenario rejection code
    assert settlement_count(clocked) == 0
    assert medical_balance(clocked, zhao) == 10_000


def test_a_sale_on_the_day_of_activation_is_paid(clocked: App, zhao: Person) -> None:
    assert settle(clocked, "A1", "R-1", line(1_000), on=DAY).personal_fen == 1_000


def test_an_electronic_card_sale_is_not_bound_to_the_card_activation(clocked: App) -> None:
    """Every person on record may use the e-voucher, with or without a card."""
    qian = cardholder(clocked, 59, "B1")
    payload = electronic_card.electronic_card_payload(
        person_id=qian.id, area_code=qian.area_code, now=NOW, seconds=300, secret=SECRET
    )
    before = DAY - dt.timedelta(days=1)

    with pytest.raises(SaleBeforeCardActivation):
        settle(clocked, "B1", "R-1", line(1_000), on=before)
    receipt = settle(clocked, ElectronicCard(payload), "R-1", line(1_000), on=before)
    assert (receipt.personal_fen, receipt.own_fen) == (0, 1_000)


def test_a_sale_dated_before_the_last_posting_on_the_account_is_refused(
    clocked: App, zhao: Person
) -> None:
    later = DAY + dt.timedelta(days=5)
    credit(clocked, zhao, 2_000, key="later-credit")
    with clocked.uow() as uow:
        uow.ledger.transfer(
            key="later-credit-2",
            debit=accounts.pooled_fund(AREA),
            credit=accounts.personal_account(AREA, zhao.id),
            amount_fen=3_000,
            value_date=later,
            kind="crediting",
        )

    with pytest.raises(ValueDateBeforeLastPosting) as refused:
        settle(clocked, "A1", "R-1", line(14_000), on=DAY + dt.timedelta(days=2))

    assert refused.value.code == "value_date_before_last_posting"
    assert refused.value.field == "on"
    assert settlement_count(clocked) == 0
    assert medical_balance(clocked, zhao) == 15_000
    assert _never_negative_as_of(clocked, zhao)
    assert settle(clocked, "A1", "R-1", line(14_000), on=later).personal_fen == 14_000
    assert _never_negative_as_of(clocked, zhao)


def test_a_sale_the_account_does_not_pay_may_come_after_a_later_posting(
    clocked: App, zhao: Person
) -> None:
    """Only money leaving the account is bound by its last posting."""
    settle(clocked, "A1", "R-1", line(10_000), on=DAY + dt.timedelta(days=4))
    receipt = settle(clocked, "A1", "R-2", line(700), on=DAY + dt.timedelta(days=2))

    assert (receipt.personal_fen, receipt.own_fen) == (0, 700)


@pytest.mark.parametrize("may_pay", [True, False])
def test_a_sale_dated_after_today_is_refused(clocked: App, zhao: Person, may_pay: bool) -> None:
    with pytest.raises(ValueDateInFuture) as refused:
        settle(clocked, "A1", "R-1", line(1_000, may_pay=may_pay), on=TODAY + dt.timedelta(days=1))

    assert refused.value.code == "value_date_in_future"
    assert settlement_count(clocked) == 0
    assert medical_balance(clocked, zhao) == 10_000
    assert settle(clocked, "A1", "R-1", line(1_000), on=TODAY).personal_fen == 1_000


def test_a_retried_sale_returns_its_receipt_whatever_was_posted_since(
    clocked: App, zhao: Person
) -> None:
    first = settle(clocked, "A1", "R-1", line(1_000), on=DAY + dt.timedelta(days=1))
    credit(clocked, zhao, 100, key="since")  # dated DAY: not later, so post a later one
    with clocked.uow() as uow:
        uow.ledger.transfer(
            key="since-later",
            debit=accounts.pooled_fund(AREA),
            credit=accounts.personal_account(AREA, zhao.id),
            amount_fen=100,
            value_date=DAY + dt.timedelta(days=3),
            kind="crediting",
        )

    assert settle(clocked, "A1", "R-1", line(1_000), on=DAY + dt.timedelta(days=1)) == first


def test_a_refund_dated_before_its_sale_is_refused(clocked: App, zhao: Person) -> None:
    settle(clocked, "A1", "R-1", line(4_000), on=DAY + dt.timedelta(days=2))
    transfers = transfer_count(clocked)

    with pytest.raises(RefundBeforeSale) as refused:
        _refund(clocked, "R-1", on=DAY + dt.timedelta(days=1))

    assert refused.value.code == "refund_before_sale"
    assert transfer_count(clocked) == transfers
    assert medical_balance(clocked, zhao) == 6_000
    receipt = _refund(clocked, "R-1", on=DAY + dt.timedelta(days=2))
    assert receipt.balance_after_fen == 10_000
    with clocked.uow() as uow:
        assert check_books(uow.ledger) == []


def test_a_refund_dated_after_today_is_refused(clocked: App, zhao: Person) -> None:
    settle(clocked, "A1", "R-1", line(4_000), on=DAY)

    with pytest.raises(ValueDateInFuture):
        _refund(clocked, "R-1", on=TODAY + dt.timedelta(days=1))

    assert medical_balance(clocked, zhao) == 6_000
