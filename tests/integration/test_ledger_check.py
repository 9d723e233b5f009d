"""`yibao ledger check` on SQLite and PostgreSQL: what it must find in a ledger gone wrong."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from sqlalchemy import insert

from tests.scenario_files import EXAMPLES
from yibao.adapters.tables import LedgerTransfer
from yibao.bootstrap import App
from yibao.domain.idnumber import make_id_number
from yibao.ledger import accounts
from yibao.ledger.check import check_books
from yibao.services import registry

AREA = "420100"
BOOK = accounts.medical_book(AREA)


@pytest.fixture
def person(app: App) -> int:
    document = yaml.safe_load((EXAMPLES / "05_spent_to_zero_then_refunded.yaml").read_text())
    with app.uow() as uow:
        registry.load_area(uow=uow, document=document["area"])
        return registry.add_person(
            uow=uow,
            id_number=make_id_number("420102", dt.date(1990, 3, 7), 1),
            name="Person 1",
            area_code=AREA,
        ).id


def _insert(
    app: App, *rows: tuple[str, accounts.AccountRef, accounts.AccountRef, int, dt.date]
) -> None:
    """Rows written around the ledger, in this id order, as a buggy path once wrote them."""
    with app.uow() as uow:
        for key, debit, credit, fen, day in rows:
            uow.session.execute(
                insert(LedgerTransfer).values(
                    key=key,
                    book=BOOK,
                    debit_account_id=uow.ledger.account_id(debit),
                    credit_account_id=uow.ledger.account_id(credit),
                    amount_fen=fen,
                    value_date=day,
                    kind="forged",
                    memo="",
                )
            )


def test_an_account_overdrawn_in_value_date_order_fails_though_id_order_is_fine(
    app: App, person: int
) -> None:
    """Credited on the 10th, then a spend back-dated to the 5th: -300.00 as of the 5th."""
    personal = accounts.personal_account(AREA, person)
    pharmacy = accounts.institution_payable(AREA, "P001")
    _insert(
        app,
        ("credit", accounts.pooled_fund(AREA), personal, 50_000, dt.date(2024, 3, 10)),
        ("spend", personal, pharmacy, 30_000, dt.date(2024, 3, 5)),
    )
    with app.uow() as uow:
        account_id = uow.ledger.account_id(personal)
        problems = [p for p in check_books(uow.ledger) if p.invariant == "never_overdrawn"]
    assert [p.detail for p in problems] == [
        f"account {account_id} (personal:{person}) fell to -30000 fen on 2024-03-05"
    ]


def test_a_day_is_judged_by_its_closing_balance_credits_before_debits(
    app: App, person: int
) -> None:
    """Spent and credited on the same day, the spend posted first: the day closes at +200.00."""
    personal = accounts.personal_account(AREA, person)
    pharmacy = accounts.institution_payable(AREA, "P001")
    day = dt.date(2024, 3, 10)
    _insert(
        app,
        ("spend", personal, pharmacy, 30_000, day),
        ("credit", accounts.pooled_fund(AREA), personal, 50_000, day),
    )
    with app.uow() as uow:
        assert [p for p in check_books(uow.ledger) if p.invariant == "never_overdrawn"] == []


def test_the_lowest_closing_balance_is_the_one_reported(app: App, person: int) -> None:
    personal = accounts.personal_account(AREA, person)
    pharmacy = accounts.institution_payable(AREA, "P001")
    _insert(
        app,
        ("credit", accounts.pooled_fund(AREA), personal, 50_000, dt.date(2024, 3, 31)),
        ("spend:1", personal, pharmacy, 10_000, dt.date(2024, 3, 1)),
        ("spend:2", personal, pharmacy, 20_000, dt.date(2024, 3, 2)),
        ("spend:3", personal, pharmacy, 5_000, dt.date(2024, 3, 3)),
    )
    with app.uow() as uow:
        details = [p.detail for p in check_books(uow.ledger) if p.invariant == "never_overdrawn"]
    assert len(details) == 1
    assert details[0].endswith("fell to -35000 fen on 2024-03-03")
