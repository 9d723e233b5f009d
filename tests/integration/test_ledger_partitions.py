"""The ledger partitioned by month (PostgreSQL, migration 0025): keys unique across every month,
each month's postings in their own partition, none lost for want of one."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from sqlalchemy import Engine, String, func, literal, select, text, union_all

from tests.scenario_files import EXAMPLES
from yibao.adapters.db import downgrade, upgrade
from yibao.adapters.tables import LedgerTransfer
from yibao.bootstrap import App
from yibao.domain.idnumber import make_id_number
from yibao.domain.months import Month
from yibao.ledger import accounts, bulk_posting, partitions
from yibao.ledger.check import check_books
from yibao.ledger.errors import AlreadyReversed, IdempotencyConflict
from yibao.services import registry

AREA = "420100"
BOOK = accounts.medical_book(AREA)
POOL = accounts.pooled_fund(AREA)
PHARMACY = accounts.institution_payable(AREA, "P001")
MAY, JUNE = dt.date(2024, 5, 31), dt.date(2024, 6, 3)
ONLY_POSTGRESQL = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@pytest.fixture
def app(engine: Engine) -> App:
    """Example City with persons 1 and 2, and partitions for May and June 2024."""
    app = App(engine)
    document = yaml.safe_load((EXAMPLES / "05_spent_to_zero_then_refunded.yaml").read_text())
    with app.uow() as uow:
        registry.load_area(uow=uow, document=document["area"])
        for n in (1, 2):
            registry.add_person(
                uow=uow,
                id_number=make_id_number("420102", dt.date(1990, 3, 7), n),
                name=f"Person {n}",
                area_code=AREA,
            )
    with engine.begin() as connection:
        partitions.prepare_months(connection, [Month.of(MAY), Month.of(JUNE)])
    return app


def _credit(app: App, key: str, fen: int, day: dt.date, person: int = 1) -> int:
    with app.uow() as uow:
        return uow.ledger.transfer(
            key=key,
            debit=POOL,
            credit=accounts.personal_account(AREA, person),
            amount_fen=fen,
            value_date=day,
            kind="crediting",
        ).id


def _count(app: App) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(LedgerTransfer)) or 0)


def _partition_of(app: App, transfer_id: int) -> str:
    with app.uow() as uow:
        return str(
            uow.session.execute(
                text("SELECT tableoid::regclass::text FROM ledger_transfer WHERE id = :id"),
                {"id": transfer_id},
            ).scalar_one()
        )


def test_a_retry_with_the_same_key_in_another_month_is_the_same_posting(app: App) -> None:
    first = _credit(app, "credit:c1", 500, MAY)
    assert _credit(app, "credit:c1", 500, JUNE) == first  # retried after the month turned
    with pytest.raises(IdempotencyConflict):
        _credit(app, "credit:c1", 501, JUNE)
    assert _count(app) == 1
    with app.uow() as uow:
        assert uow.ledger.balance_of(accounts.personal_account(AREA, 1)) == 500
        assert check_books(uow.ledger) == []


def test_a_transfer_is_reversed_once_even_from_another_month(app: App) -> None:
    _credit(app, "credit:c1", 500, MAY)
    with app.uow() as uow:
        uow.ledger.reverse(original_key="credit:c1", key="undo:1", value_date=MAY)
    with app.uow() as uow, pytest.raises(AlreadyReversed):
        uow.ledger.reverse(original_key="credit:c1", key="undo:2", value_date=JUNE)
    assert _count(app) == 2


def _rows(*rows: tuple[str, int, int, dt.date]) -> object:
    return union_all(
        *(
            select(
                literal(key, String),
                literal(owner),
                literal(fen),
                literal(day),
                literal("crediting", String),
                literal("test", String),
            )
            for key, owner, fen, day in rows
        )
    ).subquery()


def _post(app: App, *rows: tuple[str, int, int, dt.date]) -> tuple[int, int]:
    with app.uow() as uow:
        return bulk_posting.post_to_owners(
            uow.session,
            debit=POOL,
            debit_id=uow.ledger.account_id(POOL),
            credit_kind=accounts.AccountKind.PERSONAL,
            rows=select(_rows(*rows)),
        )


def test_the_bulk_poster_skips_a_key_posted_in_another_month(app: App) -> None:
    assert _post(app, ("k1", 1, 100, MAY), ("k2", 2, 200, MAY)) == (2, 300)
    assert _post(app, ("k1", 1, 100, JUNE), ("k3", 2, 50, JUNE)) == (1, 50)
    assert _post(app, ("k4", 1, 7, JUNE), ("k4", 1, 7, MAY)) == (1, 7)  # twice in one batch
    assert _count(app) == 4
    with app.uow() as uow:
        assert uow.ledger.balance_of(accounts.personal_account(AREA, 1)) == 107
        assert check_books(uow.ledger) == []


@ONLY_POSTGRESQL
def test_each_month_is_posted_into_its_own_partition_and_others_into_default(app: App) -> None:
    assert _partition_of(app, _credit(app, "a", 1, MAY)) == "ledger_transfer_2024_05"
    assert _partition_of(app, _credit(app, "b", 1, JUNE)) == "ledger_transfer_2024_06"
    july = _credit(app, "c", 1, dt.date(2024, 7, 1))
    assert _partition_of(app, july) == partitions.DEFAULT  # no partition yet: never refused

    with app.engine.begin() as connection:  # July's postings stay where they are
        made = partitions.prepare_months(connection, [Month.parse("2024-07"), Month(2024, 8)])
        assert made == ["ledger_transfer_2024_08"]
        assert partitions.prepare_months(connection, [Month(2024, 8)]) == []
    assert _partition_of(app, july) == partitions.DEFAULT


@ONLY_POSTGRESQL
def test_the_check_finds_a_posting_written_around_its_key_claim(app: App) -> None:
    _credit(app, "credit:c1", 500, MAY)
    with app.uow() as uow:
        uow.session.execute(
            text(
                "INSERT INTO ledger_transfer (key, book, debit_account_id, credit_account_id, "
                "amount_fen, value_date, kind, memo) SELECT key, book, debit_account_id, "
                "credit_account_id, amount_fen, :june, kind, memo FROM ledger_transfer"
            ),
            {"june": JUNE},
        )
    with app.uow() as uow:
        problems = check_books(uow.ledger)
    # and the copy moved no kept balance: the account's row no longer matches its transfers
    assert [p.invariant for p in problems] == ["key_claimed_once", "kept_balance_matches"]
    assert "'credit:c1'" in problems[0].detail


@ONLY_POSTGRESQL
def test_the_migration_attaches_a_populated_ledger_without_rewriting_it(
    app: App, engine: Engine
) -> None:
    with app.uow() as uow:  # opened as the schema is now (0029 added kept balances)
        pool = uow.ledger.account_id(POOL)
        credited = {n: uow.ledger.account_id(accounts.personal_account(AREA, n)) for n in (1, 2)}
    downgrade(engine, "0024")
    with app.uow() as uow:  # posted as before 0025: into the one plain table
        for key, person, fen, day in (("credit:c1", 1, 500, MAY), ("credit:c2", 2, 300, JUNE)):
            uow.session.execute(
                LedgerTransfer.__table__.insert().values(
                    key=key,
                    book=BOOK,
                    debit_account_id=pool,
                    credit_account_id=credited[person],
                    amount_fen=fen,
                    value_date=day,
                    kind="crediting",
                    memo="",
                )
            )
    before = _file_of(engine, "ledger_transfer")

    upgrade(engine)

    assert _file_of(engine, partitions.HISTORY) == before  # the same file: not rewritten
    assert _credit(app, "credit:c1", 500, dt.date(2024, 8, 1)) > 0  # an old key, still its own
    assert _count(app) == 2
    later = _credit(app, "credit:c3", 100, dt.date(2024, 8, 1))
    assert _partition_of(app, later) == partitions.DEFAULT
    with app.uow() as uow:
        assert uow.ledger.get("credit:c1") is not None
        assert check_books(uow.ledger) == []
        bound = uow.session.execute(
            text(
                "SELECT pg_get_expr(relpartbound, oid) FROM pg_class "
                "WHERE oid = 'ledger_transfer_history'::regclass"
            )
        ).scalar_one()
    assert bound == "FOR VALUES FROM (MINVALUE) TO ('2024-07-01')"


def _file_of(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT relfilenode FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
            ).scalar_one()
        )
