"""Racing spends on PostgreSQL: the personal account is never overdrawn, a key posts once."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable

import pytest
import yaml
from sqlalchemy import func, select

from tests.scenario_files import EXAMPLES
from yibao.adapters.tables import LedgerTransfer
from yibao.bootstrap import App
from yibao.domain.idnumber import make_id_number
from yibao.ledger import accounts
from yibao.ledger.check import check_books
from yibao.ledger.errors import InsufficientFunds
from yibao.services import registry

AREA = "420100"
DAY = dt.date(2024, 3, 1)
THREADS = 32
SPENDS_PER_THREAD = 5
PAYABLE = accounts.institution_payable(AREA, "H001")


@pytest.fixture
def account(pg_app: App) -> accounts.AccountRef:
    """The personal account of one person, credited 1,000.00 yuan."""
    document = yaml.safe_load((EXAMPLES / "05_spent_to_zero_then_refunded.yaml").read_text())
    with pg_app.uow() as uow:
        registry.load_area(uow=uow, document=document["area"])
        person = registry.add_person(
            uow=uow,
            id_number=make_id_number("420102", dt.date(1980, 4, 1), 58),
            name="Zhao Lei",
            area_code=AREA,
        )
        personal = accounts.personal_account(AREA, person.id)
        uow.ledger.transfer(
            key="credit:opening",
            debit=accounts.pooled_fund(AREA),
            credit=personal,
            amount_fen=100_000,
            value_date=DAY,
            kind="crediting",
        )
    return personal


def _race(work: Callable[[int], None]) -> None:
    """Run `work(thread_number)` on THREADS threads released together; re-raise any failure."""
    barrier = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def run(number: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(number)
        except BaseException as error:  # reported to the test below
            failures.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    assert failures == []


def _spend(app: App, account: accounts.AccountRef, key: str, fen: int) -> int:
    with app.uow() as uow:
        return uow.ledger.transfer(
            key=key, debit=account, credit=PAYABLE, amount_fen=fen, value_date=DAY, kind="spend"
        ).id


def test_racing_spends_never_overdraw_and_every_accepted_spend_is_counted(
    pg_app: App, account: accounts.AccountRef
) -> None:
    accepted: list[int] = []
    refused: list[int] = []

    def spend_several(number: int) -> None:
        amounts = random.Random(number)  # the same amounts on every run
        for attempt in range(SPENDS_PER_THREAD):
            fen = amounts.randint(1_000, 10_000)
            try:
                _spend(pg_app, account, f"spend:{number}:{attempt}", fen)
            except InsufficientFunds:
                refused.append(fen)
            else:
                accepted.append(fen)

    _race(spend_several)

    with pg_app.uow() as uow:
        balance = uow.ledger.balance_of(account)
        spends = uow.session.scalar(
            select(func.count()).select_from(LedgerTransfer).where(LedgerTransfer.kind == "spend")
        )
        assert check_books(uow.ledger) == []
    assert balance >= 0
    assert 100_000 - balance == sum(accepted)
    assert spends == len(accepted)
    assert len(accepted) + len(refused) == THREADS * SPENDS_PER_THREAD
    assert refused, "the spends asked for more than the account held: some must be refused"
    assert balance < min(refused), "a spend was refused although the balance covered it"


def test_the_same_spend_retried_by_racing_clients_is_posted_once(
    pg_app: App, account: accounts.AccountRef
) -> None:
    ids: list[int] = []
    _race(lambda _number: ids.append(_spend(pg_app, account, "spend:retried", 35_000)))

    with pg_app.uow() as uow:
        rows = uow.session.scalar(
            select(func.count())
            .select_from(LedgerTransfer)
            .where(LedgerTransfer.key == "spend:retried")
        )
        balance = uow.ledger.balance_of(account)
        assert check_books(uow.ledger) == []
    assert rows == 1
    assert len(ids) == THREADS
    assert len(set(ids)) == 1
    assert balance == 100_000 - 35_000
