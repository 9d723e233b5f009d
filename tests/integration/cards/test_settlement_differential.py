"""The same sales, retries and refunds give the same receipts on SQLite and on PostgreSQL.

A sale is posted by two implementations of one rule: step by step from Python on SQLite, in
one call of the ledger's `post_settlement` function on PostgreSQL. Hypothesis generates
sequences (line items within the catalogue or not, balances, pharmacy purchases and outpatient
and inpatient visits at hospitals of levels 1 and 3 where the pooled fund pays its share under
the deductible and the caps, days around the card's activation and today, retries, refunds)
and runs each on both; what the person is told, or why they are refused, must be the same.
The two databases are migrated once for the whole test and emptied before each example.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tests.integration.cards.cardholders import (
    DAY,
    NOW,
    SECRET,
    add_person,
    credit,
    emptied,
    give_card,
    shared_database,
)
from tests.integration.cards.hospital import enroll, hospital_city
from yibao.bootstrap import App
from yibao.domain.errors import YibaoError
from yibao.domain.pooled import Visit
from yibao.ledger.check import check_books
from yibao.ledger.pooled_usage import pooled_usage_problems
from yibao.services import settlement
from yibao.services.cards import electronic_card
from yibao.services.settlement import CardAndPin, ElectronicCard, LineItem, SettleCmd

TODAY = DAY + dt.timedelta(days=6)
PERSONS = 2
SCHEMES = ("flexible", "retiree")  # the employee scheme's rules, and a retiree's bonus
PLACES = (  # where, and as what visit (None: the institution's default)
    ("P001", None),
    ("H001", None),
    ("H001", Visit.INPATIENT),
    ("H003", Visit.OUTPATIENT),
    ("H003", Visit.INPATIENT),
)


@dataclass(frozen=True)
class Sale:
    person: int
    lines: tuple[LineItem, ...]
    day: int  # days after the card's activation (DAY)
    by_card: bool
    place: int = 0  # index in PLACES


@dataclass(frozen=True)
class Retry:
    sale: int  # index among the sales so far


@dataclass(frozen=True)
class Refund:
    sale: int
    day: int


_lines = st.lists(
    st.builds(
        LineItem,
        st.sampled_from(["DRUG-1", "DRUG-2", "EXAM"]),
        st.integers(1, 3),
        st.integers(1, 120_000),
        account_may_pay=st.booleans(),
    ),
    min_size=1,
    max_size=3,
).map(tuple)
_days = st.integers(-2, 8)  # before activation, after today
_steps = st.lists(
    st.one_of(
        st.builds(
            Sale,
            st.integers(0, PERSONS - 1),
            _lines,
            _days,
            st.booleans(),
            st.integers(0, len(PLACES) - 1),
        ),
        st.builds(Retry, st.integers(0, 20)),
        st.builds(Refund, st.integers(0, 20), _days),
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture(scope="module")
def both() -> Iterator[tuple[Engine, Engine]]:
    with shared_database("sqlite") as lite, shared_database("postgresql") as pg:
        yield lite, pg


def _city(engine: Engine) -> App:
    """Example City, from empty tables, on a fixed day (`TODAY`)."""
    app = emptied(engine)
    hospital_city(app)
    return App(engine, today=lambda: TODAY)


class _Run:
    """One sequence on one backend: the outcome of each step, comparable across backends."""

    def __init__(self, engine: Engine, balances: list[int]) -> None:
        self.app = app = _city(engine)
        self.people = []
        for n, fen in enumerate(balances):
            person = add_person(app, n)
            give_card(app, person, f"C{n}")
            enroll(app, person, SCHEMES[n % len(SCHEMES)])
            if fen:
                credit(app, person, fen, key=f"opening:{person.id}")
            self.people.append(person)
        self.sales: list[tuple[Sale, str]] = []

    def outcome(self, step: Sale | Retry | Refund) -> tuple[object, ...]:
        try:
            return self._apply(step)
        except YibaoError as refused:
            return ("refused", refused.code)

    def _apply(self, step: Sale | Retry | Refund) -> tuple[object, ...]:
        if isinstance(step, Sale):
            ref = f"R{len(self.sales)}"
            self.sales.append((step, ref))
            return self._settle(step, ref)
        if not self.sales:
            return ("nothing",)
        sale, ref = self.sales[step.sale % len(self.sales)]
        if isinstance(step, Retry):
            return self._settle(sale, ref)
        with self.app.uow() as uow:
            receipt = settlement.refund(uow=uow, ref=ref, on=DAY + dt.timedelta(step.day))
        return ("refunded", receipt.fund_fen, receipt.personal_fen, receipt.own_fen,
                receipt.balance_after_fen)  # fmt: skip

    def _settle(self, sale: Sale, ref: str) -> tuple[object, ...]:
        person = self.people[sale.person]
        credential: CardAndPin | ElectronicCard = ElectronicCard(
            electronic_card.electronic_card_payload(
                person_id=person.id,
                area_code=person.area_code,
                now=NOW,
                seconds=300,
                secret=SECRET,
            )
        )
        if sale.by_card:
            credential = CardAndPin(f"C{sale.person}", "123456")
        institution, visit = PLACES[sale.place]
        cmd = SettleCmd(
            institution, ref, credential, sale.lines, DAY + dt.timedelta(sale.day), visit=visit
        )
        receipt = settlement.settle(uow_factory=self.app.uow, cmd=cmd, now=NOW, card_secret=SECRET)
        return ("paid", receipt.total_fen, receipt.fund_fen, receipt.personal_fen,
                receipt.own_fen, receipt.deductible_fen, receipt.ratio, receipt.visit,
                receipt.balance_after_fen)  # fmt: skip


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(balances=st.lists(st.integers(0, 20_000), min_size=PERSONS, max_size=PERSONS), steps=_steps)
def test_sqlite_and_postgresql_give_the_same_receipts_and_refusals(
    both: tuple[Engine, Engine], balances: list[int], steps: list[Sale | Retry | Refund]
) -> None:
    runs = [_Run(engine, balances) for engine in both]

    for step in steps:
        on_sqlite, on_postgresql = (run.outcome(step) for run in runs)
        assert on_sqlite == on_postgresql, step

    for run in runs:
        with run.app.uow() as uow:
            assert check_books(uow.ledger) == []
            assert pooled_usage_problems(uow.session) == []
