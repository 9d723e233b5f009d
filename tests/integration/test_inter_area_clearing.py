"""Clearing between two planning areas, each in a database of its own (`yibao areas clear`).

Two areas in two databases (two PostgreSQL databases, or two SQLite files) as
YIBAO_AREA_DATABASES opens them; travellers of each settle at the other's pharmacy.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.area_databases import area_database_urls
from tests.integration.cards.cardholders import area_document, ledger_problems
from yibao.adapters.tables import InterAreaBill, LedgerTransfer
from yibao.bootstrap import App, area_apps
from yibao.config import Settings
from yibao.domain.errors import Conflict
from yibao.domain.idnumber import make_id_number
from yibao.domain.months import Month
from yibao.ledger import accounts
from yibao.services import registry
from yibao.services.areas import AreaDatabases
from yibao.services.settlement.across_areas import CrossAreaBill, settle_across_areas
from yibao.services.settlement.across_areas_refund import refund_across_areas
from yibao.services.settlement.inter_area_clearing import (
    PairCleared,
    PairRefused,
    clear_between_areas,
)
from yibao.services.uow import UnitOfWork

A, B = "420100", "110000"
OF_A = make_id_number("420102", dt.date(1975, 6, 1), 17)
OF_B = make_id_number("110101", dt.date(1982, 2, 3), 21)
MARCH, APRIL = Month.parse("2024-03"), Month.parse("2024-04")
TODAY = dt.date(2024, 5, 2)


@dataclass
class Books:
    apps: dict[str, App]
    urls: dict[str, str]

    @property
    def areas(self) -> AreaDatabases:
        found = self.apps[A].areas
        assert found is not None
        return found

    def bill(
        self, id_number: str, insured: str, pharmacy: str, ref: str, fen: int, day: str
    ) -> None:
        on = dt.date.fromisoformat(day)
        bill = CrossAreaBill(id_number, insured, pharmacy, ref, fen, on)
        settle_across_areas(areas=self.areas, bill=bill)

    def position(self, area: str, other: str) -> int:
        """What `area`'s book owes `other` (negative: is owed by it)."""
        with self.apps[area].uow() as uow:
            return uow.ledger.balance_of(accounts.inter_area(area, other))

    def transfers(self, area: str) -> int:
        with self.apps[area].uow() as uow:
            return int(uow.session.scalar(select(func.count()).select_from(LedgerTransfer)) or 0)


def _area(app: App, area: str, pharmacy: str, id_number: str) -> None:
    with app.uow() as uow:
        registry.load_area(uow=uow, document=area_document(area))
        registry.add_institution(
            uow=uow, code=pharmacy, name="Pharmacy", kind="pharmacy", area_code=area
        )
        person = registry.add_person(uow=uow, id_number=id_number, name="Li Lei", area_code=area)
        uow.ledger.transfer(
            key=f"credit:{person.id}:50000",  # an opening credit (`ledger_problems` allows it)
            debit=accounts.pooled_fund(area),
            credit=accounts.personal_account(area, person.id),
            amount_fen=50_000,
            value_date=dt.date(2024, 3, 1),
            kind="crediting",
        )


@pytest.fixture
def books(backend: str, tmp_path: Path) -> Iterator[Books]:
    with area_database_urls(backend, (A, B), tmp_path) as urls:
        apps = area_apps(Settings(area_databases=json.dumps(urls)))
        assert apps is not None
        _area(apps[A], A, "A001", OF_A)
        _area(apps[B], B, "B001", OF_B)
        try:
            yield Books(apps, urls)
        finally:
            for app in apps.values():
                app.engine.dispose()


def _march_bills(books: Books) -> None:
    books.bill(OF_A, A, "B001", "R1", 1_000, "2024-03-05")
    books.bill(OF_A, A, "B001", "R2", 500, "2024-03-20")
    books.bill(OF_A, A, "B001", "R3", 700, "2024-04-02")  # the next period's
    books.bill(OF_B, B, "A001", "S1", 300, "2024-03-10")


def test_each_pair_clears_its_period_in_both_books_once(books: Books) -> None:
    _march_bills(books)
    first = clear_between_areas(areas=books.areas, period=MARCH, today=TODAY)
    assert first == [
        PairCleared(B, A, "2024-03", 1, 300, written=True),
        PairCleared(A, B, "2024-03", 2, 1_500, written=True),
    ]
    assert (books.position(A, B), books.position(B, A)) == (700, -700)  # R3 is April's
    with books.apps[A].uow() as uow:
        paid_out_less_received = 1_500 - 300  # credits less debits, as an institution clearing
        assert uow.ledger.balance_of(accounts.settlement_clearing(A)) == paid_out_less_received
    counts = books.transfers(A), books.transfers(B)
    again = clear_between_areas(areas=books.areas, period=MARCH, today=TODAY)
    assert [(r.payer, r.written) for r in again if isinstance(r, PairCleared)] == [
        (B, False),
        (A, False),
    ]
    assert (books.transfers(A), books.transfers(B)) == counts
    april = clear_between_areas(areas=books.areas, period=APRIL, today=TODAY)
    assert april == [PairCleared(A, B, "2024-04", 1, 700, written=True)]
    assert (books.position(A, B), books.position(B, A)) == (0, 0)
    assert ledger_problems(books.apps[A]) == ledger_problems(books.apps[B]) == []


def test_a_run_stopped_between_the_books_is_completed_with_the_bills_the_first_book_cleared(
    books: Books,
) -> None:
    _march_bills(books)
    calls = 0

    def payee_then_gone() -> UnitOfWork:  # B's database goes away before its side of A->B:
        nonlocal calls  # B->A read and written (calls 1, 2), A->B read (3), then written (4)
        calls += 1
        if calls > 3:
            raise ConnectionError("area B's database is unreachable")
        return books.apps[B].uow()

    crashing = AreaDatabases({A: books.apps[A].uow, B: payee_then_gone})
    with pytest.raises(ConnectionError):
        clear_between_areas(areas=crashing, period=MARCH, today=TODAY)
    # B->A was cleared in both books; A->B in A's only
    assert (books.position(A, B), books.position(B, A)) == (700, -2_200)
    late = make_id_number("420102", dt.date(1988, 8, 8), 31)
    with books.apps[A].uow() as uow:
        registry.add_person(uow=uow, id_number=late, name="Han Mei", area_code=A)
    books.bill(late, A, "B001", "LATE", 400, "2024-03-25")  # meanwhile, dated March: unpaid
    done = clear_between_areas(areas=books.areas, period=MARCH, today=TODAY)
    assert PairCleared(A, B, "2024-03", 2, 1_500, written=True) in done
    assert (books.position(A, B), books.position(B, A)) == (700, -700)  # R3
    with books.apps[B].uow() as uow:  # LATE is left for the next clearing, in both books
        left = uow.session.scalars(select(InterAreaBill).where(InterAreaBill.ref == "LATE")).one()
        assert left.cleared_in is None
    assert ledger_problems(books.apps[A]) == ledger_problems(books.apps[B]) == []


def test_books_that_disagree_are_refused_with_the_bill_named_and_nothing_written(
    books: Books,
) -> None:
    _march_bills(books)
    with books.apps[B].uow() as uow:  # B's row of R2 altered behind the service's back
        row = uow.session.scalars(select(InterAreaBill).where(InterAreaBill.ref == "R2")).one()
        row.personal_fen = 450
    counts = books.transfers(A), books.transfers(B)
    results = clear_between_areas(areas=books.areas, period=MARCH, today=TODAY)
    refused = [r for r in results if isinstance(r, PairRefused)]
    assert [(r.payer, r.payee) for r in refused] == [(A, B)]
    assert "B001/R2 (420100: 5.00, 110000: 4.50)" in refused[0].reason
    # B->A was cleared (one transfer in each book); of A->B nothing
    assert (books.transfers(A), books.transfers(B)) == (counts[0] + 1, counts[1] + 1)
    with books.apps[A].uow() as uow:
        marked = uow.session.scalar(
            select(func.count()).where(
                InterAreaBill.side == "insured",
                InterAreaBill.other_area == B,
                InterAreaBill.cleared_in.is_not(None),
            )
        )
    assert marked == 0
    assert books.position(A, B) == 2_200


def test_a_period_not_ended_is_refused(books: Books) -> None:
    with pytest.raises(Exception, match="period"):
        clear_between_areas(areas=books.areas, period=Month.parse("2024-05"), today=TODAY)


def test_the_command_clears_reports_and_refuses_a_mismatch(books: Books) -> None:
    _march_bills(books)
    run: Callable[..., subprocess.CompletedProcess[str]] = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "yibao.entrypoints.cli.main", "areas", "clear", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "YIBAO_AREA_DATABASES": json.dumps(books.urls), "COLUMNS": "200"},
    )
    done = run("--period", "2024-03")
    assert done.returncode == 0, done.stderr
    assert "420100 -> 110000 2024-03: cleared, 2 bills, 15.00 yuan" in done.stdout
    again = run("--period", "2024-03")
    assert "420100 -> 110000 2024-03: already cleared, 2 bills, 15.00 yuan" in again.stdout
    with books.apps[B].uow() as uow:
        row = uow.session.scalars(select(InterAreaBill).where(InterAreaBill.ref == "R3")).one()
        row.personal_fen = 1
    refused = run("--period", "2024-04")
    assert refused.returncode == 1
    assert "REFUSED" in refused.stderr
    assert "B001/R3" in refused.stderr
    bad = run("--period", "2024-13")
    assert bad.returncode == 2
    assert "--period" in bad.stderr


def test_a_refunded_bill_is_cleared_for_nothing_and_a_cleared_one_is_not_refunded(
    books: Books,
) -> None:
    _march_bills(books)
    refund_day = dt.date(2024, 4, 3)
    with books.apps[B].uow() as uow:
        refund_across_areas(
            areas=books.areas, treating_uow=uow, institution_code="B001", ref="R2", on=refund_day
        )
    results = clear_between_areas(areas=books.areas, period=MARCH, today=TODAY)
    assert PairCleared(A, B, "2024-03", 2, 1_000, written=True) in results
    assert (books.position(A, B), books.position(B, A)) == (700, -700)
    with (
        pytest.raises(Conflict, match="cleared between the areas in 2024-03"),
        books.apps[B].uow() as uow,
    ):
        refund_across_areas(
            areas=books.areas, treating_uow=uow, institution_code="B001", ref="R1", on=refund_day
        )
    assert ledger_problems(books.apps[A]) == ledger_problems(books.apps[B]) == []
