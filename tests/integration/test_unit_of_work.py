"""Units of work: one transaction, or on PostgreSQL one per statement where a path asks for it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from yibao.adapters.hot import AutocommitConnection
from yibao.ledger import accounts
from yibao.services.uow import UnitOfWork

FUND = accounts.pooled_fund("420100")


class Refused(Exception):
    """Raised after a write, as a refusal would be."""


def _open_account_then_refuse(unit: UnitOfWork) -> None:
    with unit as uow:
        uow.ledger.account_id(FUND)
        raise Refused


def _account_exists(engine: Engine) -> bool:
    with UnitOfWork(engine) as uow:
        return uow.ledger.find_account(FUND) is not None


def test_a_unit_of_work_that_fails_leaves_nothing(engine: Engine) -> None:
    with pytest.raises(Refused):
        _open_account_then_refuse(UnitOfWork(engine))

    assert not _account_exists(engine)


def test_each_statement_commits_on_postgresql_and_sqlite_keeps_one_transaction(
    engine: Engine,
) -> None:
    with pytest.raises(Refused):
        _open_account_then_refuse(UnitOfWork(engine).statement_by_statement())

    assert _account_exists(engine) == (engine.dialect.name == "postgresql")


def test_its_connections_go_back_to_the_pool_in_transactions_again(pg_engine: Engine) -> None:
    with UnitOfWork(pg_engine).statement_by_statement() as uow:
        assert isinstance(uow.hot, AutocommitConnection)  # a pooled connection, no session
        uow.ledger.account_id(accounts.bank_cash())  # a session now, hot statements in it
        assert uow.hot is uow.session

    idle = pg_engine.pool.checkedin()  # type: ignore[attr-defined]
    pooled = [pg_engine.raw_connection() for _ in range(idle)]
    try:
        drivers: list[Any] = [connection.driver_connection for connection in pooled]
        assert drivers
        assert [driver.autocommit for driver in drivers] == [False] * len(drivers)
    finally:
        for connection in pooled:
            connection.close()
    with pytest.raises(Refused):
        _open_account_then_refuse(UnitOfWork(pg_engine))
    assert not _account_exists(pg_engine)
