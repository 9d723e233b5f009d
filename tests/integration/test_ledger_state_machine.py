"""Any sequence of credits, spends, POS sales, refunds, retries and reversals keeps the ledger's
invariants.

A Hypothesis state machine drives the real ledger, one unit of work per step, against a model
of what each account should hold; it runs once on SQLite and once on PostgreSQL, each example
on a fresh database (Hypothesis cannot share a function-scoped fixture between examples).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from contextlib import ExitStack
from dataclasses import dataclass
from typing import ClassVar

import pytest
import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from tests.scenario_files import EXAMPLES
from yibao.adapters.db import scratch_database
from yibao.adapters.tables import LedgerTransfer
from yibao.bootstrap import App
from yibao.domain.idnumber import make_id_number
from yibao.ledger import accounts
from yibao.ledger.check import check_books
from yibao.ledger.errors import AlreadyReversed, IdempotencyConflict, InsufficientFunds
from yibao.ledger.ledger import Transfer
from yibao.services import registry, settlement
from yibao.services.cards import electronic_card
from yibao.services.settlement import AlreadyRefunded, ElectronicCard, LineItem, SettleCmd

PG_URL = os.environ.get("YIBAO_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
AREA = "420100"
DAY = dt.date(2024, 3, 1)
PERSONS = 2
POOL = accounts.pooled_fund(AREA)
PAYABLE = accounts.institution_payable(AREA, "P001")
NOW = dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.UTC)
SECRET = "s"

SETTINGS = settings(
    max_examples=20,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@dataclass(frozen=True)
class Posted:
    """What the model remembers of a key it posted."""

    person: int  # index of the person whose personal account the transfer touched
    kind: str  # "crediting", "spend", "settlement" (a POS sale) or "reversal"
    amount_fen: int
    original_key: str | None = None  # for a reversal


class LedgerMachine(RuleBasedStateMachine):
    database_url: ClassVar[str | None] = None  # None: a SQLite file

    def __init__(self) -> None:
        super().__init__()
        self._resources = ExitStack()
        self.app = App(self._resources.enter_context(scratch_database(self.database_url)))
        self.person_ids = self._open_area()
        self.expected = [0] * PERSONS  # each personal account, in fen
        self.expected_payable = 0
        self.posted: dict[str, Posted] = {}
        self.reversed: set[str] = set()
        self.ids: dict[str, int] = {}
        self.sales: dict[str, tuple[int, tuple[LineItem, ...], settlement.Receipt]] = {}
        self.refunded: set[str] = set()
        self._serial = itertools.count(1)

    def teardown(self) -> None:
        self._resources.close()

    def _open_area(self) -> list[int]:
        document = yaml.safe_load((EXAMPLES / "05_spent_to_zero_then_refunded.yaml").read_text())
        with self.app.uow() as uow:
            registry.load_area(uow=uow, document=document["area"])
            registry.add_institution(
                uow=uow, code="P001", name="Pharmacy", kind="pharmacy", area_code=AREA
            )
            return [
                registry.add_person(
                    uow=uow,
                    id_number=make_id_number("420102", dt.date(1985, 5, 5), n),
                    name=f"Person {n}",
                    area_code=AREA,
                ).id
                for n in range(PERSONS)
            ]

    # -- posting, as the services do ----------------------------------------------------------
    def _personal(self, person: int) -> accounts.AccountRef:
        return accounts.personal_account(AREA, self.person_ids[person])

    def _post(self, key: str, posted: Posted, amount_fen: int | None = None) -> Transfer:
        """Post (or re-post) `posted` under `key`, optionally with another amount."""
        amount = posted.amount_fen if amount_fen is None else amount_fen
        with self.app.uow() as uow:
            if posted.kind == "reversal":
                assert posted.original_key is not None
                if amount_fen is None:
                    return uow.ledger.reverse(
                        original_key=posted.original_key, key=key, value_date=DAY
                    )
                debit, credit = self._accounts_of(self.posted[posted.original_key])
                return uow.ledger.transfer(
                    key=key,
                    debit=credit,
                    credit=debit,
                    amount_fen=amount,
                    value_date=DAY,
                    kind="refund",
                )
            debit, credit = self._accounts_of(posted)
            return uow.ledger.transfer(
                key=key,
                debit=debit,
                credit=credit,
                amount_fen=amount,
                value_date=DAY,
                kind=posted.kind,
            )

    def _accounts_of(self, posted: Posted) -> tuple[accounts.AccountRef, accounts.AccountRef]:
        if posted.kind == "crediting":
            return POOL, self._personal(posted.person)
        return self._personal(posted.person), PAYABLE

    def _sell(self, person: int, ref: str, lines: tuple[LineItem, ...]) -> settlement.Receipt:
        """A POS sale paid with the person's electronic card, through the settlement service."""
        payload = electronic_card.electronic_card_payload(
            person_id=self.person_ids[person],
            area_code=AREA,
            now=NOW,
            seconds=300,
            secret=SECRET,
        )
        cmd = SettleCmd("P001", ref, ElectronicCard(payload), lines, DAY)
        return settlement.settle(uow_factory=self.app.uow, cmd=cmd, now=NOW, card_secret=SECRET)

    def _new_key(self, prefix: str) -> str:
        return f"{prefix}:{next(self._serial)}"

    def _record(self, key: str, posted: Posted, transfer: Transfer) -> None:
        self.posted[key] = posted
        self.ids[key] = transfer.id

    # -- rules ------------------------------------------------------------------------------
    @initialize()
    def start_empty(self) -> None:
        assert self.posted == {}

    @rule(person=st.integers(0, PERSONS - 1), amount=st.integers(1, 50_000))
    def credit_a_personal_account(self, person: int, amount: int) -> None:
        key, posted = self._new_key("credit"), Posted(person, "crediting", amount)
        self._record(key, posted, self._post(key, posted))
        self.expected[person] += amount

    @rule(person=st.integers(0, PERSONS - 1), amount=st.integers(1, 60_000))
    def spend_from_a_personal_account(self, person: int, amount: int) -> None:
        key, posted = self._new_key("spend"), Posted(person, "spend", amount)
        if amount > self.expected[person]:
            with pytest.raises(InsufficientFunds):
                self._post(key, posted)
            return
        self._record(key, posted, self._post(key, posted))
        self.expected[person] -= amount
        self.expected_payable += amount

    @rule(
        person=st.integers(0, PERSONS - 1),
        eligible=st.integers(0, 60_000),
        own=st.integers(0, 5_000),
    )
    def settle_a_sale(self, person: int, eligible: int, own: int) -> None:
        lines = tuple(
            LineItem(code, 1, fen, account_may_pay=code == "DRUG")
            for code, fen in (("DRUG", eligible), ("OWN", own))
            if fen
        ) or (LineItem("OWN", 1, 1, account_may_pay=False),)
        ref = f"R{next(self._serial)}"
        receipt = self._sell(person, ref, lines)
        paid = min(eligible, self.expected[person])
        assert (receipt.personal_fen, receipt.own_fen) == (paid, receipt.total_fen - paid)
        assert receipt.balance_after_fen == self.expected[person] - paid
        self.sales[ref] = (person, lines, receipt)
        if paid:
            key = f"settle:P001:{ref}"
            self.posted[key] = Posted(person, "settlement", paid)
            self.ids[key] = self._transfer_id(key)
        self.expected[person] -= paid
        self.expected_payable += paid

    @precondition(lambda self: self.sales)
    @rule(data=st.data())
    def retry_a_sale(self, data: st.DataObject) -> None:
        ref = data.draw(st.sampled_from(sorted(self.sales)), label="ref")
        person, lines, first = self.sales[ref]
        assert self._sell(person, ref, lines) == first

    @precondition(lambda self: self.sales)
    @rule(data=st.data())
    def refund_a_sale(self, data: st.DataObject) -> None:
        ref = data.draw(st.sampled_from(sorted(self.sales)), label="ref")
        person, _, first = self.sales[ref]
        key = f"settle:P001:{ref}"
        refusal: type[Exception] | None = None
        if ref in self.refunded:
            refusal = AlreadyRefunded
        elif key in self.reversed:
            refusal = AlreadyReversed  # its transfer was reversed directly
        if refusal is not None:
            with pytest.raises(refusal), self.app.uow() as uow:
                settlement.refund(uow=uow, ref=ref, on=DAY)
            return
        with self.app.uow() as uow:
            receipt = settlement.refund(uow=uow, ref=ref, on=DAY)
        self.refunded.add(ref)
        self.expected[person] += first.personal_fen
        self.expected_payable -= first.personal_fen
        assert receipt.balance_after_fen == self.expected[person]
        if first.personal_fen:
            self.reversed.add(key)
            refund_key = f"refund:P001:{ref}"
            self.posted[refund_key] = Posted(person, "reversal", first.personal_fen, key)
            self.ids[refund_key] = self._transfer_id(refund_key)

    def _transfer_id(self, key: str) -> int:
        with self.app.uow() as uow:
            found = uow.ledger.get(key)
        assert found is not None
        return found.id

    @precondition(lambda self: self.posted)
    @rule(data=st.data())
    def retry_a_key_with_the_same_content(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.posted)), label="key")
        assert self._post(key, self.posted[key]).id == self.ids[key]

    @precondition(lambda self: self.posted)
    @rule(data=st.data(), change=st.integers(1, 1_000))
    def retry_a_key_with_other_content(self, data: st.DataObject, change: int) -> None:
        key = data.draw(st.sampled_from(sorted(self.posted)), label="key")
        posted = self.posted[key]
        with pytest.raises(IdempotencyConflict):
            self._post(key, posted, amount_fen=posted.amount_fen + change)

    @precondition(lambda self: any(p.kind != "reversal" for p in self.posted.values()))
    @rule(data=st.data())
    def reverse_an_earlier_transfer(self, data: st.DataObject) -> None:
        originals = sorted(k for k, p in self.posted.items() if p.kind != "reversal")
        original_key = data.draw(st.sampled_from(originals), label="original")
        original = self.posted[original_key]
        key = self._new_key("reversal")
        posted = Posted(original.person, "reversal", original.amount_fen, original_key)
        refusal: type[Exception] | None = None
        if original_key in self.reversed:
            refusal = AlreadyReversed
        elif original.kind == "crediting" and original.amount_fen > self.expected[original.person]:
            refusal = InsufficientFunds  # the credit has been spent since
        if refusal is not None:
            with pytest.raises(refusal):
                self._post(key, posted)
            return
        self._record(key, posted, self._post(key, posted))
        self.reversed.add(original_key)
        sign = -1 if original.kind == "crediting" else 1
        self.expected[original.person] += sign * original.amount_fen
        if original.kind in ("spend", "settlement"):
            self.expected_payable -= original.amount_fen

    # -- invariants -------------------------------------------------------------------------
    @invariant()
    def the_ledger_matches_the_model(self) -> None:
        with self.app.uow() as uow:
            assert check_books(uow.ledger) == []
            for person, expected in enumerate(self.expected):
                balance = uow.ledger.balance_of(self._personal(person))
                assert balance == expected
                assert balance >= 0
            assert uow.ledger.balance_of(PAYABLE) == self.expected_payable
            transfers = uow.session.scalar(select(func.count()).select_from(LedgerTransfer))
            assert transfers == len(self.posted)
            keys = uow.session.scalar(select(func.count(func.distinct(LedgerTransfer.key))))
            assert keys == len(self.posted)


def test_the_ledger_keeps_its_invariants_through_any_sequence_of_operations(
    backend: str,
) -> None:
    class LedgerMachineOnBackend(LedgerMachine):
        database_url = PG_URL if backend == "postgresql" else None

    run_state_machine_as_test(LedgerMachineOnBackend, settings=SETTINGS)
