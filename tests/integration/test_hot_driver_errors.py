"""A hot statement whose connection PostgreSQL dropped raises SQLAlchemy's OperationalError, as a
Session would, so the API and the national interface answer 503 (retry) instead of a bare 500.
Found by the fault run (tests/faults) during a PostgreSQL restart."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, literal, select, text
from sqlalchemy.exc import DataError, OperationalError

from yibao.adapters.hot import AutocommitConnection, HotStatement

ONE = HotStatement(select(literal(1)))


def test_a_dropped_connection_is_an_operational_error(pg_engine: Engine) -> None:
    hot = AutocommitConnection(pg_engine)
    try:
        assert ONE.scalar_or_none(hot, {}) == 1
        backend = hot.target.cursor.connection.info.backend_pid
        with pg_engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        with pytest.raises(OperationalError):
            ONE.scalar_or_none(hot, {})
    finally:
        hot.close()


def test_bad_data_is_a_data_error(pg_engine: Engine) -> None:
    hot = AutocommitConnection(pg_engine)
    try:
        with pytest.raises(DataError):
            HotStatement(select(text("'x'::int"))).rows(hot, {})
    finally:
        hot.close()
