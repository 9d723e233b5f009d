"""Clearing an institution's payable: what is owed is paid once, whatever order the days come in."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from tests.integration.cards.cardholders import (
    AREA,
    DAY,
    cardholder,
    ledger_problems,
    line,
    settle,
    transfer_count,
)
from yibao.bootstrap import App
from yibao.ledger import accounts
from yibao.services import settlement
from yibao.services.settlement import institution_settlement

PAYABLE = accounts.institution_payable(AREA, "P001")
CLEARING = accounts.settlement_clearing(AREA)


def _day(n: int) -> dt.date:
    return DAY + dt.timedelta(days=n)


def _clear(app: App, day: dt.date) -> int:
    with app.uow() as uow:
        return institution_settlement.clear_institution(uow=uow, institution_code="P001", day=day)


def _balance(app: App, ref: accounts.AccountRef) -> int:
    with app.uow() as uow:
        return uow.ledger.balance_of(ref)


@pytest.fixture
def three_days(city: App) -> App:
    """At P001: 10.00 yuan of sales on day 0, 20.00 on day 1, 30.00 on day 2."""
    cardholder(city, 1, "A1", fen=100_000)
    for n, fen in enumerate((1_000, 2_000, 3_000)):
        settle(city, "A1", f"R-{n}", line(fen), on=_day(n))
    return city


def test_clearing_days_backwards_pays_what_was_owed_once(three_days: App) -> None:
    assert _clear(three_days, _day(2)) == 6_000
    assert _clear(three_days, _day(1)) == 0
    assert _clear(three_days, _day(0)) == 0

    assert _balance(three_days, CLEARING) == 6_000
    assert _balance(three_days, PAYABLE) == 0
    assert transfer_count(three_days, "clearing") == 1


def test_clearing_an_earlier_day_after_a_later_one_pays_only_what_the_later_left(
    three_days: App,
) -> None:
    assert _clear(three_days, _day(1)) == 3_000
    cardholder(three_days, 2, "A2", fen=100_000)  # another patient's sale, entered late for day 0
    settle(three_days, "A2", "R-late", line(500), on=_day(0))

    assert _clear(three_days, _day(0)) == 0  # day 1's clearing paid more than day 0 is owed now
    assert _clear(three_days, _day(2)) == 3_500
    assert _balance(three_days, CLEARING) == 6_500
    assert _balance(three_days, PAYABLE) == 0


def test_a_day_cleared_again_returns_what_it_paid_and_pays_nothing_more(three_days: App) -> None:
    assert _clear(three_days, _day(0)) == 1_000
    assert _clear(three_days, _day(2)) == 5_000

    assert _clear(three_days, _day(0)) == 1_000
    assert _clear(three_days, _day(1)) == 0
    assert _balance(three_days, CLEARING) == 6_000
    assert ledger_problems(three_days) == []


def test_a_refund_after_clearing_is_netted_by_the_next_clearing(three_days: App) -> None:
    assert _clear(three_days, _day(0)) == 1_000
    with three_days.uow() as uow:
        settlement.refund(uow=uow, ref="R-0", on=_day(1), institution_code="P001")

    assert _clear(three_days, _day(1)) == 1_000  # day 1's 2,000 less the 1,000 refunded
    assert _clear(three_days, _day(2)) == 3_000
    assert _balance(three_days, CLEARING) == 5_000
    assert _balance(three_days, PAYABLE) == 0


def test_racing_clearings_of_different_days_pay_what_is_owed_once(three_days: App) -> None:
    days = [_day(n) for n in (2, 1, 0, 2, 1, 0)]
    barrier = threading.Barrier(len(days))
    failures: list[BaseException] = []

    def clear(day: dt.date) -> None:
        try:
            barrier.wait(timeout=30)
            _clear(three_days, day)
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=clear, args=(day,)) for day in days]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert _balance(three_days, CLEARING) == 6_000
    assert _balance(three_days, PAYABLE) == 0
