"""A debit from an account that may not overdraw is dated neither before the account's last
posting nor after today, whoever posts it; a refusal writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from sqlalchemy import Engine

from tests.scenario_files import EXAMPLES
from yibao.bootstrap import App
from yibao.domain.idnumber import make_id_number
from yibao.ledger import accounts
from yibao.ledger.errors import ValueDateBeforeLastPosting, ValueDateInFuture
from yibao.ledger.ledger import Transfer
from yibao.services import registry

AREA = "420100"
DAY = dt.date(2024, 3, 1)
TODAY = dt.date(2024, 3, 20)
PERSON = 1  # the first person on record
CASH = accounts.bank_cash()
CARD_ACCOUNT = accounts.financial_account(PERSON)
PERSONAL = accounts.personal_account(AREA, PERSON)
POOL = accounts.pooled_fund(AREA)


@pytest.fixture
def clocked(engine: Engine) -> App:
    """Example City with one insured person, on a fixed day (`TODAY`)."""
    app = App(engine, today=lambda: TODAY)
    document = yaml.safe_load((EXAMPLES / "05_spent_to_zero_then_refunded.yaml").read_text())
    with app.uow() as uow:
        registry.load_area(uow=uow, document=document["area"])
        person = registry.add_person(
            uow=uow,
            id_number=make_id_number("420102", dt.date(1990, 3, 7), 1),
            name="Person 1",
            area_code=AREA,
        )
    assert person.id == PERSON
    return app


def _move(
    app: App,
    key: str,
    debit: accounts.AccountRef,
    credit: accounts.AccountRef,
    fen: int,
    day: dt.date,
) -> Transfer:
    with app.uow() as uow:
        return uow.ledger.transfer(
            key=key, debit=debit, credit=credit, amount_fen=fen, value_date=day, kind="test"
        )


def _balances_as_of(app: App, ref: accounts.AccountRef) -> list[int]:
    with app.uow() as uow:
        return [uow.ledger.balance_of(ref, DAY + dt.timedelta(days=n)) for n in range(20)]


def test_a_withdrawal_dated_before_the_last_deposit_is_refused(clocked: App) -> None:
    _move(clocked, "d1", CASH, CARD_ACCOUNT, 5_000, DAY + dt.timedelta(days=5))

    with pytest.raises(ValueDateBeforeLastPosting) as refused:
        _move(clocked, "w1", CARD_ACCOUNT, CASH, 5_000, DAY + dt.timedelta(days=2))

    assert refused.value.field == "value_date"
    assert min(_balances_as_of(clocked, CARD_ACCOUNT)) == 0
    with clocked.uow() as uow:
        assert uow.ledger.get("w1") is None
    _move(clocked, "w1", CARD_ACCOUNT, CASH, 5_000, DAY + dt.timedelta(days=5))


def test_a_debit_dated_after_today_is_refused(clocked: App) -> None:
    _move(clocked, "c1", POOL, PERSONAL, 5_000, DAY)

    with pytest.raises(ValueDateInFuture):
        _move(clocked, "s1", PERSONAL, POOL, 1_000, TODAY + dt.timedelta(days=1))

    with clocked.uow() as uow:
        assert uow.ledger.balance_of(PERSONAL) == 5_000
    assert _move(clocked, "s1", PERSONAL, POOL, 1_000, TODAY).amount_fen == 1_000


def test_accounts_that_may_overdraw_are_not_bound_by_value_dates(clocked: App) -> None:
    """A pooled fund's credit run and a refund to a payable post on their own days."""
    _move(clocked, "c1", POOL, PERSONAL, 5_000, DAY + dt.timedelta(days=9))
    _move(clocked, "c2", POOL, PERSONAL, 5_000, DAY)
    _move(clocked, "c3", POOL, PERSONAL, 5_000, TODAY + dt.timedelta(days=30))


def test_a_retry_after_later_postings_returns_the_first_transfer(clocked: App) -> None:
    _move(clocked, "d1", CASH, CARD_ACCOUNT, 5_000, DAY)
    first = _move(clocked, "w1", CARD_ACCOUNT, CASH, 1_000, DAY)
    _move(clocked, "d2", CASH, CARD_ACCOUNT, 5_000, DAY + dt.timedelta(days=3))

    assert _move(clocked, "w1", CARD_ACCOUNT, CASH, 1_000, DAY) == first


def test_a_reversal_of_a_credit_is_a_debit_bound_by_the_same_rules(clocked: App) -> None:
    _move(clocked, "c1", POOL, PERSONAL, 5_000, DAY + dt.timedelta(days=4))
    _move(clocked, "c0", POOL, PERSONAL, 5_000, DAY)

    with clocked.uow() as uow, pytest.raises(ValueDateBeforeLastPosting):
        uow.ledger.reverse(original_key="c0", key="r0", value_date=DAY + dt.timedelta(days=1))
