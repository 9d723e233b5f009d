"""The card's financial (bank) account on SQLite and PostgreSQL: a separate book, never medical."""

from __future__ import annotations

import pytest

from tests.integration.cards.cardholders import (
    AREA,
    DAY,
    add_person,
    cardholder,
    financial_balance,
    ledger_problems,
    medical_balance,
    transfer_count,
)
from yibao.adapters.tables import Person
from yibao.bootstrap import App
from yibao.domain.cards import CardReportedLost, FinancialNotActivated, NoCard
from yibao.domain.errors import InvalidInput
from yibao.ledger import accounts
from yibao.ledger.errors import CrossBookTransfer, IdempotencyConflict, InsufficientFunds
from yibao.services import cards
from yibao.services.cards import financial


def _activate_financial(app: App, person: Person) -> None:
    with app.uow() as uow:
        cards.activate_financial(uow=uow, id_number=person.id_number, on=DAY)


def _banked(app: App, sequence: int, card_no: str, medical_fen: int = 90_000) -> Person:
    """A cardholder with 900.00 yuan on the personal account and an activated bank account."""
    person = cardholder(app, sequence, card_no, fen=medical_fen)
    _activate_financial(app, person)
    return person


def _deposit(app: App, person: Person, fen: int, key: str) -> None:
    with app.uow() as uow:
        financial.deposit(uow=uow, id_number=person.id_number, amount_fen=fen, on=DAY, key=key)


def _withdraw(app: App, person: Person, fen: int, key: str) -> None:
    with app.uow() as uow:
        financial.withdraw(uow=uow, id_number=person.id_number, amount_fen=fen, on=DAY, key=key)


def _bank_transfer(app: App, payer: Person, payee: Person, fen: int, key: str) -> None:
    with app.uow() as uow:
        financial.transfer(
            uow=uow,
            from_id_number=payer.id_number,
            to_id_number=payee.id_number,
            amount_fen=fen,
            on=DAY,
            key=key,
        )


def test_deposit_and_withdrawal_are_refused_before_the_financial_account_is_activated(
    city: App,
) -> None:
    person = cardholder(city, 1, "A1", fen=90_000)
    before = transfer_count(city)

    for move in (_deposit, _withdraw):
        with pytest.raises(FinancialNotActivated) as refused:
            move(city, person, 10_000, "k1")
        assert refused.value.code == "financial_not_activated"

    assert transfer_count(city) == before
    assert financial_balance(city, person) == 0


def test_a_person_without_a_card_has_no_financial_account_to_use(city: App) -> None:
    person = add_person(city, 1)
    with pytest.raises(NoCard):
        _deposit(city, person, 10_000, "k1")


def test_after_activation_deposits_and_withdrawals_move_the_financial_balance(
    city: App,
) -> None:
    person = _banked(city, 1, "A1")

    _deposit(city, person, 100_000, "d1")
    _withdraw(city, person, 30_000, "w1")

    assert financial_balance(city, person) == 70_000


def test_a_retried_deposit_is_posted_once_and_a_reused_key_with_another_amount_is_refused(
    city: App,
) -> None:
    person = _banked(city, 1, "A1")
    _deposit(city, person, 100_000, "d1")
    _deposit(city, person, 100_000, "d1")
    with pytest.raises(IdempotencyConflict):
        _deposit(city, person, 200_000, "d1")
    assert financial_balance(city, person) == 100_000


def test_a_withdrawal_beyond_the_balance_is_refused_and_changes_nothing(city: App) -> None:
    person = _banked(city, 1, "A1")
    _deposit(city, person, 50_000, "d1")
    before = transfer_count(city)

    with pytest.raises(InsufficientFunds) as refused:
        _withdraw(city, person, 50_001, "w1")

    assert refused.value.code == "insufficient_funds"
    assert refused.value.message == "the account holds 500.00 yuan; 500.01 yuan were asked"
    assert financial_balance(city, person) == 50_000
    assert transfer_count(city) == before


def test_a_withdrawal_of_nothing_is_invalid_input(city: App) -> None:
    person = _banked(city, 1, "A1")
    with pytest.raises(InvalidInput):
        _withdraw(city, person, 0, "w0")


def test_a_bank_transfer_moves_money_between_two_activated_persons(city: App) -> None:
    payer, payee = _banked(city, 1, "A1"), _banked(city, 2, "A2")
    _deposit(city, payer, 100_000, "d1")

    _bank_transfer(city, payer, payee, 40_000, "t1")

    assert financial_balance(city, payer) == 60_000
    assert financial_balance(city, payee) == 40_000


def test_a_bank_transfer_is_refused_beyond_the_balance_to_oneself_or_to_an_inactive_account(
    city: App,
) -> None:
    payer, payee = _banked(city, 1, "A1"), _banked(city, 2, "A2")
    inactive = cardholder(city, 3, "A3")
    _deposit(city, payer, 100_000, "d1")
    before = transfer_count(city)

    with pytest.raises(InsufficientFunds):
        _bank_transfer(city, payer, payee, 100_001, "t1")
    with pytest.raises(InvalidInput):
        _bank_transfer(city, payer, payer, 10_000, "t2")
    with pytest.raises(FinancialNotActivated):
        _bank_transfer(city, payer, inactive, 10_000, "t3")

    assert transfer_count(city) == before
    assert financial_balance(city, payer) == 100_000


def test_the_medical_personal_account_is_never_touched_by_the_financial_account(
    city: App,
) -> None:
    first, second = _banked(city, 1, "A1"), _banked(city, 2, "A2", medical_fen=0)

    _deposit(city, first, 100_000, "d1")
    _withdraw(city, first, 20_000, "w1")
    _bank_transfer(city, first, second, 30_000, "t1")
    with pytest.raises(InsufficientFunds):
        _withdraw(city, second, 90_000, "w2")  # the medical 900.00 is not there to draw on

    assert medical_balance(city, first) == 90_000
    assert medical_balance(city, second) == 0
    assert financial_balance(city, first) == 50_000
    assert financial_balance(city, second) == 30_000
    with city.uow() as uow:
        history = uow.ledger.history(
            uow.ledger.account_id(accounts.personal_account(AREA, first.id))
        )
        assert [h.kind for h in history] == ["crediting"]
    assert ledger_problems(city) == []


def test_money_cannot_cross_between_the_bank_book_and_the_medical_book(city: App) -> None:
    person = _banked(city, 1, "A1")
    _deposit(city, person, 100_000, "d1")
    before = transfer_count(city)
    bank, medical = (
        accounts.financial_account(person.id),
        accounts.personal_account(AREA, person.id),
    )

    for debit, credit in ((bank, medical), (medical, bank)):
        with pytest.raises(CrossBookTransfer), city.uow() as uow:
            uow.ledger.transfer(
                key=f"cross:{debit.book}",
                debit=debit,
                credit=credit,
                amount_fen=10_000,
                value_date=DAY,
                kind="bank_transfer",
            )

    assert transfer_count(city) == before
    assert financial_balance(city, person) == 100_000
    assert medical_balance(city, person) == 90_000


def test_a_lost_card_freezes_the_financial_account_and_its_replacement_keeps_it(
    city: App,
) -> None:
    person = _banked(city, 1, "A1")
    _deposit(city, person, 100_000, "d1")
    with city.uow() as uow:
        cards.report_loss(uow=uow, id_number=person.id_number, on=DAY)

    with pytest.raises(CardReportedLost):
        _withdraw(city, person, 10_000, "w1")

    with city.uow() as uow:
        cards.replace_card(uow=uow, id_number=person.id_number, new_card_no="B1", on=DAY)
    _withdraw(city, person, 10_000, "w1")
    assert financial_balance(city, person) == 90_000
