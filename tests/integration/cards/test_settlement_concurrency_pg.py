"""32 POS terminals settling at once on PostgreSQL, with retries racing their originals."""

from __future__ import annotations

import random
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from tests.integration.cards.cardholders import (
    DAY,
    cardholder,
    example_city,
    ledger_problems,
    line,
    medical_balance,
    settle,
)
from yibao.adapters.tables import LedgerTransfer, Person, Settlement
from yibao.bootstrap import App
from yibao.domain.cards import CardReportedLost
from yibao.services import cards
from yibao.services.settlement import LineItem, Receipt

THREADS = 32
TERMINALS = THREADS // 2  # threads n and n + 16 settle the same purchases: racing retries
PURCHASES = 4  # per terminal, each followed by a retry of one of the terminal's purchases
OPENING_FEN = 50_000  # 500.00 yuan on each account
CARDS = ("C1", "C2", "C3", "C4")
LOST_CARD = "C5"


@dataclass(frozen=True)
class Purchase:
    ref: str
    card_no: str
    lines: tuple[LineItem, ...]

    @property
    def eligible_fen(self) -> int:
        return sum(item.amount_fen for item in self.lines if item.account_may_pay)


@pytest.fixture
def holders(pg_app: App) -> dict[str, Person]:
    """Four cardholders with 500.00 yuan each, and a fifth whose card is reported lost."""
    example_city(pg_app)
    people = {
        card_no: cardholder(pg_app, number, card_no, fen=OPENING_FEN)
        for number, card_no in enumerate((*CARDS, LOST_CARD), start=1)
    }
    with pg_app.uow() as uow:
        cards.report_loss(uow=uow, id_number=people[LOST_CARD].id_number, on=DAY)
    return people


def _plan(run: str) -> dict[int, list[Purchase]]:
    """Each terminal's purchases: random refs, amounts and cards; one in eight on the lost card."""
    plans: dict[int, list[Purchase]] = {}
    for terminal in range(TERMINALS):
        rng = random.Random(terminal)
        purchases = []
        for number in range(PURCHASES):
            card_no = LOST_CARD if rng.random() < 0.125 else rng.choice(CARDS)
            lines = [line(rng.randint(1_000, 30_000))]
            if rng.random() < 0.5:
                lines.append(line(rng.randint(100, 5_000), may_pay=False, code="SELF-PAY"))
            purchases.append(Purchase(f"{run}-{terminal}-{number}", card_no, tuple(lines)))
        plans[terminal] = purchases
    return plans


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
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    assert failures == []


def test_racing_settlements_and_retries_never_overdraw_and_post_each_ref_once(
    pg_app: App, holders: dict[str, Person]
) -> None:
    plans = _plan(uuid.uuid4().hex[:8])
    receipts: dict[str, list[Receipt]] = defaultdict(list)
    refused: dict[str, list[str]] = defaultdict(list)

    def present(purchase: Purchase) -> None:
        try:
            receipt = settle(pg_app, purchase.card_no, purchase.ref, *purchase.lines)
        except CardReportedLost as error:
            refused[purchase.ref].append(error.code)
        else:
            receipts[purchase.ref].append(receipt)

    def terminal(thread_number: int) -> None:
        retries = random.Random(1_000 + thread_number)
        done: list[Purchase] = []
        for purchase in plans[thread_number % TERMINALS]:
            present(purchase)
            done.append(purchase)
            present(retries.choice(done))  # the same ref with the same content

    _race(terminal)

    purchases = [p for plan in plans.values() for p in plan]
    on_lost_card = {p.ref for p in purchases if p.card_no == LOST_CARD}
    assert set(refused) == on_lost_card
    assert set(receipts) == {p.ref for p in purchases} - on_lost_card
    for ref, answers in receipts.items():
        first = answers[0]
        assert all(
            (r.settlement_id, r.total_fen, r.personal_fen, r.own_fen)
            == (first.settlement_id, first.total_fen, first.personal_fen, first.own_fen)
            for r in answers
        ), f"{ref} was answered with different receipts"

    with pg_app.uow() as uow:
        settled = uow.session.execute(
            select(Settlement.ref, Settlement.payer_person_id, Settlement.personal_fen)
        ).all()
        postings = uow.session.execute(
            select(LedgerTransfer.key, func.count())
            .where(LedgerTransfer.kind == "settlement")
            .group_by(LedgerTransfer.key)
        ).all()

    assert ledger_problems(pg_app) == []
    assert sorted(row.ref for row in settled) == sorted(receipts)
    paid_refs = {row.ref for row in settled if row.personal_fen > 0}
    assert dict(postings) == {f"settle:P001:{r}": 1 for r in paid_refs}

    for card_no in CARDS:
        person = holders[card_no]
        balance = medical_balance(pg_app, person)
        personal_parts = sum(r.personal_fen for r in settled if r.payer_person_id == person.id)
        demand = sum(p.eligible_fen for p in purchases if p.card_no == card_no)
        assert demand > OPENING_FEN, "the purchases should ask more than the account holds"
        assert balance >= 0
        assert OPENING_FEN - balance == personal_parts
        # Whatever the order, an account pays what it may until it is empty.
        assert personal_parts == min(OPENING_FEN, demand)
    assert medical_balance(pg_app, holders[LOST_CARD]) == OPENING_FEN
