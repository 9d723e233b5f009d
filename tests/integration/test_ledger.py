"""The double-entry ledger on SQLite and PostgreSQL: idempotent, never overdrawn, reversible."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from sqlalchemy import func, insert, select

from tests.scenario_files import EXAMPLES
from yibao.adapters.tables import LedgerTransfer
from yibao.bootstrap import App
from yibao.domain.errors import InvalidInput
from yibao.domain.idnumber import make_id_number
from yibao.ledger import accounts
from yibao.ledger.check import check_books, check_ledger
from yibao.ledger.errors import (
    AlreadyReversed,
    CrossBookTransfer,
    IdempotencyConflict,
    InsufficientFunds,
    UnknownTransfer,
)
from yibao.ledger.ledger import Transfer
from yibao.services import registry

AREA = "420100"
DAY = dt.date(2024, 3, 1)

POOL = accounts.pooled_fund(AREA)
PHARMACY = accounts.institution_payable(AREA, "P001")


@pytest.fixture
def people(app: App) -> tuple[int, int]:
    """Example City with two insured persons; returns their person ids."""
    document = yaml.safe_load((EXAMPLES / "05_spent_to_zero_then_refunded.yaml").read_text())
    with app.uow() as uow:
        registry.load_area(uow=uow, document=document["area"])
        ids = tuple(
            registry.add_person(
                uow=uow,
                id_number=make_id_number("420102", dt.date(1990, 3, 7), sequence),
                name=f"Person {sequence}",
                area_code=AREA,
            ).id
            for sequence in (1, 2)
        )
    return ids[0], ids[1]


def _credit(app: App, person_id: int, fen: int, key: str, day: dt.date = DAY) -> Transfer:
    with app.uow() as uow:
        return uow.ledger.transfer(
            key=key,
            debit=POOL,
            credit=accounts.personal_account(AREA, person_id),
            amount_fen=fen,
            value_date=day,
            kind="crediting",
        )


def _spend(app: App, person_id: int, fen: int, key: str, day: dt.date = DAY) -> Transfer:
    with app.uow() as uow:
        return uow.ledger.transfer(
            key=key,
            debit=accounts.personal_account(AREA, person_id),
            credit=PHARMACY,
            amount_fen=fen,
            value_date=day,
            kind="spend",
        )


def _balance(app: App, ref: accounts.AccountRef, as_of: dt.date | None = None) -> int:
    with app.uow() as uow:
        return uow.ledger.balance_of(ref, as_of)


def _transfer_count(app: App) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(LedgerTransfer)) or 0)


def test_a_transfer_moves_money_from_one_account_to_the_other(
    app: App, people: tuple[int, int]
) -> None:
    first, _ = people
    _credit(app, first, 50_000, "credit:1")
    _spend(app, first, 12_345, "spend:1")
    assert _balance(app, accounts.personal_account(AREA, first)) == 37_655
    assert _balance(app, PHARMACY) == 12_345
    assert _balance(app, POOL) == -50_000


def test_an_account_never_used_has_a_balance_of_zero(app: App, people: tuple[int, int]) -> None:
    assert _balance(app, accounts.personal_account(AREA, people[0])) == 0


def test_a_retry_with_the_same_key_returns_the_first_transfer_and_moves_nothing(
    app: App, people: tuple[int, int]
) -> None:
    first, _ = people
    original = _credit(app, first, 50_000, "credit:1")
    retried = _credit(app, first, 50_000, "credit:1")
    assert retried.id == original.id
    assert _transfer_count(app) == 1
    assert _balance(app, accounts.personal_account(AREA, first)) == 50_000


def test_a_retried_spend_succeeds_even_after_the_balance_has_been_spent(
    app: App, people: tuple[int, int]
) -> None:
    first, _ = people
    _credit(app, first, 10_000, "credit:1")
    original = _spend(app, first, 10_000, "spend:1")
    assert _spend(app, first, 10_000, "spend:1").id == original.id
    assert _balance(app, accounts.personal_account(AREA, first)) == 0


def test_the_same_key_with_a_different_amount_is_a_conflict(
    app: App, people: tuple[int, int]
) -> None:
    first, _ = people
    _credit(app, first, 50_000, "credit:1")
    with pytest.raises(IdempotencyConflict):
        _credit(app, first, 50_001, "credit:1")
    assert _transfer_count(app) == 1


def test_the_same_key_for_another_account_is_a_conflict(app: App, people: tuple[int, int]) -> None:
    first, second = people
    _credit(app, first, 50_000, "credit:1")
    with pytest.raises(IdempotencyConflict):
        _credit(app, second, 50_000, "credit:1")
    assert _balance(app, accounts.personal_account(AREA, second)) == 0


def test_an_overdraft_is_refused_and_changes_nothing(app: App, people: tuple[int, int]) -> None:
    first, _ = people
    _credit(app, first, 10_000, "credit:1")
    # the refusal is caught inside the unit of work, which then commits
    with app.uow() as uow, pytest.raises(InsufficientFunds):
        uow.ledger.transfer(
            key="spend:1",
            debit=accounts.personal_account(AREA, first),
            credit=PHARMACY,
            amount_fen=10_001,
            value_date=DAY,
            kind="spend",
        )
    assert _transfer_count(app) == 1
    assert _balance(app, accounts.personal_account(AREA, first)) == 10_000
    assert _balance(app, PHARMACY) == 0
    with app.uow() as uow:
        assert uow.ledger.get("spend:1") is None


def test_spending_exactly_the_balance_is_allowed(app: App, people: tuple[int, int]) -> None:
    first, _ = people
    _credit(app, first, 10_000, "credit:1")
    _spend(app, first, 10_000, "spend:1")
    assert _balance(app, accounts.personal_account(AREA, first)) == 0


def test_the_pooled_fund_may_go_negative(app: App, people: tuple[int, int]) -> None:
    _credit(app, people[0], 10_000, "credit:1")
    assert _balance(app, POOL) == -10_000


def test_a_transfer_between_the_medical_book_and_the_bank_book_is_refused(
    app: App, people: tuple[int, int]
) -> None:
    first, _ = people
    _credit(app, first, 10_000, "credit:1")
    with pytest.raises(CrossBookTransfer), app.uow() as uow:
        uow.ledger.transfer(
            key="leak:1",
            debit=accounts.personal_account(AREA, first),
            credit=accounts.financial_account(first),
            amount_fen=5_000,
            value_date=DAY,
            kind="withdraw",
        )
    assert _transfer_count(app) == 1


@pytest.mark.parametrize("fen", [0, -100])
def test_a_transfer_of_zero_or_less_is_refused(app: App, people: tuple[int, int], fen: int) -> None:
    with pytest.raises(InvalidInput, match="above zero"):
        _credit(app, people[0], fen, "credit:1")
    assert _transfer_count(app) == 0


def test_a_reversal_restores_both_balances(app: App, people: tuple[int, int]) -> None:
    first, _ = people
    _credit(app, first, 50_000, "credit:1")
    spend = _spend(app, first, 35_000, "spend:1")
    with app.uow() as uow:
        reversal = uow.ledger.reverse(original_key="spend:1", key="refund:1", value_date=DAY)
    assert reversal.reverses_id == spend.id
    assert (reversal.debit_account_id, reversal.credit_account_id) == (
        spend.credit_account_id,
        spend.debit_account_id,
    )
    assert _balance(app, accounts.personal_account(AREA, first)) == 50_000
    assert _balance(app, PHARMACY) == 0


def test_a_transfer_is_reversed_at_most_once(app: App, people: tuple[int, int]) -> None:
    first, _ = people
    _credit(app, first, 50_000, "credit:1")
    _spend(app, first, 35_000, "spend:1")
    with app.uow() as uow:
        reversal = uow.ledger.reverse(original_key="spend:1", key="refund:1", value_date=DAY)
    with app.uow() as uow:  # the same refund retried: the same reversal
        assert uow.ledger.reverse(original_key="spend:1", key="refund:1", value_date=DAY).id == (
            reversal.id
        )
    with pytest.raises(AlreadyReversed), app.uow() as uow:  # another refund of it: refused
        uow.ledger.reverse(original_key="spend:1", key="refund:2", value_date=DAY)
    assert _transfer_count(app) == 3
    assert _balance(app, accounts.personal_account(AREA, first)) == 50_000


def test_reversing_an_unknown_transfer_is_refused(app: App, people: tuple[int, int]) -> None:
    with pytest.raises(UnknownTransfer), app.uow() as uow:
        uow.ledger.reverse(original_key="spend:404", key="refund:404", value_date=DAY)


def test_reversing_a_credit_that_has_been_spent_is_refused_as_an_overdraft(
    app: App, people: tuple[int, int]
) -> None:
    first, _ = people
    _credit(app, first, 50_000, "credit:1")
    _spend(app, first, 30_000, "spend:1")
    with pytest.raises(InsufficientFunds), app.uow() as uow:
        uow.ledger.reverse(original_key="credit:1", key="undo:1", value_date=DAY)
    assert _balance(app, accounts.personal_account(AREA, first)) == 20_000
    assert _transfer_count(app) == 2


def test_the_balance_as_of_a_day_counts_the_transfers_of_that_day_and_before(
    app: App, people: tuple[int, int]
) -> None:
    first, _ = people
    account = accounts.personal_account(AREA, first)
    _credit(app, first, 10_000, "credit:jan", dt.date(2024, 1, 31))
    _credit(app, first, 20_000, "credit:feb", dt.date(2024, 2, 29))
    _spend(app, first, 5_000, "spend:mar", dt.date(2024, 3, 5))
    assert _balance(app, account, dt.date(2024, 1, 30)) == 0
    assert _balance(app, account, dt.date(2024, 1, 31)) == 10_000
    assert _balance(app, account, dt.date(2024, 3, 4)) == 30_000
    assert _balance(app, account, dt.date(2024, 3, 5)) == 25_000
    assert _balance(app, account) == 25_000


def test_history_lists_transfers_by_date_then_posting_order_signed_from_the_account(
    app: App, people: tuple[int, int]
) -> None:
    first, _ = people
    _credit(app, first, 20_000, "credit:feb", dt.date(2024, 2, 29))
    _credit(app, first, 10_000, "credit:jan", dt.date(2024, 1, 31))  # posted later, dated earlier
    _spend(app, first, 5_000, "spend:1", dt.date(2024, 3, 5))
    _spend(app, first, 1_000, "spend:2", dt.date(2024, 3, 5))
    with app.uow() as uow:
        account_id = uow.ledger.account_id(accounts.personal_account(AREA, first))
        lines = uow.ledger.history(account_id)
        march = uow.ledger.history(account_id, since=dt.date(2024, 3, 1))
    assert [(line.value_date, line.amount_fen, line.kind) for line in lines] == [
        (dt.date(2024, 1, 31), 10_000, "crediting"),
        (dt.date(2024, 2, 29), 20_000, "crediting"),
        (dt.date(2024, 3, 5), -5_000, "spend"),
        (dt.date(2024, 3, 5), -1_000, "spend"),
    ]
    assert [line.amount_fen for line in march] == [-5_000, -1_000]


def test_the_ledger_check_finds_nothing_wrong_with_a_healthy_ledger(
    app: App, people: tuple[int, int]
) -> None:
    first, second = people
    _credit(app, first, 50_000, "credit:1")
    _credit(app, second, 30_000, "credit:2")
    _spend(app, first, 35_000, "spend:1")
    with app.uow() as uow:
        uow.ledger.reverse(original_key="spend:1", key="refund:1", value_date=DAY)
    _spend(app, second, 30_000, "spend:2")
    with app.uow() as uow:
        assert check_books(uow.ledger) == []


def test_the_ledger_check_reports_a_posting_written_around_the_ledger(
    app: App, people: tuple[int, int]
) -> None:
    """The check must be able to fail: a row inserted directly crosses books and overdraws."""
    first, _ = people
    with app.uow() as uow:
        personal = uow.ledger.account_id(accounts.personal_account(AREA, first))
        financial = uow.ledger.account_id(accounts.financial_account(first))
        uow.session.execute(
            insert(LedgerTransfer).values(
                key="forged:1",
                book=accounts.medical_book(AREA),
                debit_account_id=personal,
                credit_account_id=financial,
                amount_fen=100,
                value_date=DAY,
                kind="forged",
                memo="",
            )
        )
    with app.uow() as uow:
        invariants = {problem.invariant for problem in check_ledger(uow.ledger)}
    assert {"no_negative", "book_sums_to_zero", "one_book_per_transfer", "never_overdrawn"} <= (
        invariants
    )


def test_the_ledger_check_reports_a_transfer_naming_an_account_that_does_not_exist(
    app: App, people: tuple[int, int]
) -> None:
    """No foreign key stops such a row (migration 0006), so the check must."""
    first, _ = people
    _credit(app, first, 5_000, "credit:1")
    with app.uow() as uow:
        personal = uow.ledger.account_id(accounts.personal_account(AREA, first))
        nowhere = personal + 1_000_000
        for key, debit, credit in (
            ("dangling:1", nowhere, personal),
            ("dangling:2", personal, nowhere),
        ):
            uow.session.execute(
                insert(LedgerTransfer).values(
                    key=key,
                    book=accounts.medical_book(AREA),
                    debit_account_id=debit,
                    credit_account_id=credit,
                    amount_fen=100,
                    value_date=DAY,
                    kind="forged",
                    memo="",
                )
            )
        forged = set(
            uow.session.scalars(select(LedgerTransfer.id).where(LedgerTransfer.kind == "forged"))
        )
    with app.uow() as uow:
        problems = check_ledger(uow.ledger)
    dangling = {p.detail.split()[1] for p in problems if p.invariant == "accounts_exist"}
    assert dangling == {str(transfer_id) for transfer_id in forged}


def test_a_reversal_key_reused_for_another_transfer_is_a_conflict(
    app: App, people: tuple[int, int]
) -> None:
    payer, _ = people
    _credit(app, payer, 10_000, "c-reuse")
    _spend(app, payer, 1_000, "s1")
    _spend(app, payer, 1_000, "s2")
    with app.uow() as uow:
        uow.ledger.reverse(original_key="s1", key="refund", value_date=DAY)
    with pytest.raises(IdempotencyConflict), app.uow() as uow:
        uow.ledger.reverse(original_key="s2", key="refund", value_date=DAY)
