"""The ledger's bulk posting applies the single posting's rules to every row, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from sqlalchemy import Engine, String, literal, select, union_all

from tests.scenario_files import EXAMPLES
from yibao.adapters.bulk import BulkLoader
from yibao.bootstrap import App
from yibao.domain.errors import InvalidInput
from yibao.domain.idnumber import make_id_number
from yibao.ledger import accounts, bulk_posting
from yibao.ledger.check import check_books
from yibao.services import registry

AREA = "420100"
DAY = dt.date(2024, 3, 31)
BOOK = accounts.medical_book(AREA)
POOL = accounts.pooled_fund(AREA)
INCOME = accounts.contribution_income(AREA)


@pytest.fixture
def app(engine: Engine) -> App:
    """Example City with persons 1, 2 and 3."""
    app = App(engine)
    document = yaml.safe_load((EXAMPLES / "05_spent_to_zero_then_refunded.yaml").read_text())
    with app.uow() as uow:
        registry.load_area(uow=uow, document=document["area"])
        for n in (1, 2, 3):
            registry.add_person(
                uow=uow,
                id_number=make_id_number("420102", dt.date(1990, 3, 7), n),
                name=f"Person {n}",
                area_code=AREA,
            )
    return app


def _credits(*rows: tuple[str, int, int]) -> object:
    """(key, owner person id, fen) rows as the SELECT the bulk posting takes."""
    return union_all(
        *(
            select(
                literal(key, String),
                literal(owner),
                literal(fen),
                literal(DAY),
                literal("crediting", String),
                literal("test", String),
            )
            for key, owner, fen in rows
        )
    ).subquery()


def _post(app: App, debit: accounts.AccountRef, *rows: tuple[str, int, int]) -> tuple[int, int]:
    with app.uow() as uow:
        people = select(_credits(*rows).c[1])
        bulk_posting.open_accounts(
            uow.session, book=BOOK, kind=accounts.AccountKind.PERSONAL, owners=people
        )
        return bulk_posting.post_to_owners(
            uow.session,
            debit=debit,
            debit_id=uow.ledger.account_id(debit),
            credit_kind=accounts.AccountKind.PERSONAL,
            rows=select(_credits(*rows)),
        )


def test_a_key_posted_before_is_skipped_and_only_new_rows_count(app: App) -> None:
    assert _post(app, POOL, ("k1", 1, 100), ("k2", 2, 200)) == (2, 300)

    assert _post(app, POOL, ("k1", 1, 100), ("k2", 2, 200), ("k3", 3, 50)) == (1, 50)
    with app.uow() as uow:
        assert uow.ledger.balance_of(accounts.personal_account(AREA, 2)) == 200
        assert uow.ledger.balance_of(accounts.personal_account(AREA, 1), DAY) == 100
        assert check_books(uow.ledger) == []  # test rows have no causes to reconcile


def test_rows_of_nothing_are_not_posted(app: App) -> None:
    assert _post(app, POOL, ("k1", 1, 0), ("k2", 2, 10)) == (1, 10)


def test_a_debit_that_may_not_overdraw_is_refused_in_bulk(app: App) -> None:
    with pytest.raises(InvalidInput, match="may not overdraw"):
        _post(app, accounts.personal_account(AREA, 3), ("k1", 1, 100))


def _append(app: App, credit: accounts.AccountRef, rows: list[tuple[object, ...]]) -> int:
    with app.uow() as uow:
        loader = BulkLoader(uow.session.connection())
        return bulk_posting.append_between(
            loader,
            debit=INCOME,
            debit_id=uow.ledger.account_id(INCOME),
            credit=credit,
            credit_id=uow.ledger.account_id(credit),
            rows=rows,
        )


def test_appended_transfers_skip_keys_posted_before(app: App) -> None:
    first = [(1_000, "contribution:1", 500, DAY.isoformat(), "contribution", "m")]
    assert _append(app, POOL, first) == 1

    again = [*first, (1_001, "contribution:2", 700, DAY.isoformat(), "contribution", "m")]
    assert _append(app, POOL, [(i + 1, *rest) for i, *rest in again]) == 1
    with app.uow() as uow:
        assert uow.ledger.balance_of(POOL) == 1_200
        assert check_books(uow.ledger) == []  # test rows have no causes to reconcile


def test_an_appended_transfer_across_books_is_refused(app: App) -> None:
    with pytest.raises(InvalidInput, match="two books"):
        _append(app, accounts.bank_cash(), [])
