"""Statements on the hot path (every POS sale), with SQLAlchemy's per-call work taken out.

SQLAlchemy builds an execution context and a result object for each call, about 80 µs of CPU
on top of the driver's own 45 µs. A `HotStatement` is an ordinary Core statement, compiled by
SQLAlchemy once per dialect and parameter set; on PostgreSQL it then runs on the driver's
cursor inside the session's own transaction (psycopg prepares it on the server after a few
calls), or on an `AutocommitConnection` where a path needs no transaction and no Session.
Other databases run it through the session as usual, so the SQL is the same everywhere.
Parameters and results are plain driver values: ints, strings, dates, Decimal for PostgreSQL sums.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Dialect, Engine, Executable
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection

Params = Mapping[str, Any]

# psycopg caches its parse of a query's `%(name)s` placeholders up to these sizes and parses a
# larger query on every call (a card sale's one statement: 0.3 ms). Such a query goes with `$n`
# placeholders, numbered here once, on a raw cursor, which parses nothing.
_CACHED_BY_PSYCOPG = (4096, 50)  # characters, parameters
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


class AutocommitConnection:
    """A pooled PostgreSQL connection on which each statement commits on its own, no Session.

    For a path that needs no transaction around its statements (a POS sale); a Session's
    begin, commit and close cost that path about a third of its Python time.
    """

    def __init__(self, engine: Engine) -> None:
        with driver_errors(engine.dialect, "connect"):
            self._pooled = engine.raw_connection()
        driver = cast(Any, self._pooled.driver_connection)
        driver.autocommit = True
        self._driver = driver
        self.target = _Target(
            None, engine.dialect, engine.dialect.name, _cursor(self._pooled), self._pooled
        )
        self._in_transaction = False

    @contextmanager
    def transaction(self, *, commit_on: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
        """BEGIN, and COMMIT on success or ROLLBACK on any error: statements that must agree.

        On this same connection, so a short transaction inside a sale (a PIN try with the card
        locked) costs two round trips rather than a Session and a second pooled connection. An
        error of a class in `commit_on` commits what was done before it (a wrong PIN's counted
        try) and is raised. If a Session takes the connection's place inside it (`close`), what
        was done is committed then.
        """
        with driver_errors(self.target.sqlalchemy_dialect, "BEGIN"):
            self.target.cursor.execute("BEGIN")
        self._in_transaction = True
        try:
            yield
        except commit_on:
            self._end("COMMIT")
            raise
        except BaseException:
            self._end("ROLLBACK")
            raise
        self._end("COMMIT")

    def _end(self, command: str) -> None:
        if self._in_transaction:  # else a Session took over and committed it
            self._in_transaction = False
            with driver_errors(self.target.sqlalchemy_dialect, command):
                self.target.cursor.execute(command)

    def close(self) -> None:
        """Back to the pool, as the pool lends connections: not autocommitting.

        Inside `transaction()`, what was done is committed first: a Session takes over from here.
        A connection PostgreSQL dropped is thrown away instead.
        """
        if self._driver.broken:
            self._pooled.invalidate()
            return
        try:
            self._end("COMMIT")
            self._driver.autocommit = False
        finally:
            self._pooled.close()


Runner = Session | AutocommitConnection  # where a hot statement runs


@contextmanager
def driver_errors(dialect: Dialect, sql: str) -> Iterator[None]:
    """The driver's errors raised as SQLAlchemy's (OperationalError, DataError, ...), as a
    Session raises them: the entrypoints answer a lost database with 503, not a bare 500."""
    driver_error = dialect.loaded_dbapi.Error
    try:
        yield
    except driver_error as error:
        raise DBAPIError.instance(sql, None, error, driver_error) from error


class HotStatement:
    """A Core statement, or a function making it for a dialect (`insert_skipping_duplicates`)."""

    def __init__(self, statement: Executable | Callable[[str], Executable]) -> None:
        self._build = statement
        self._statements: dict[str, Executable] = {}
        self._sql: dict[tuple[str, ...], tuple[str, dict[str, Any], tuple[str, ...] | None]] = {}

    def statement(self, dialect: str) -> Executable:
        found = self._statements.get(dialect)
        if found is None:
            build = self._build
            found = build(dialect) if callable(build) else build
            self._statements[dialect] = found
        return found

    def rows(self, runner: Runner, params: Params) -> Sequence[Sequence[Any]]:
        """Run it with one set of parameters; the rows it returns (none for a plain write)."""
        target = _target(runner)
        if target.cursor is None:
            assert isinstance(runner, Session)
            result = runner.execute(self.statement(target.dialect), dict(params))
            return result.all() if cast(CursorResult[Any], result).returns_rows else []
        sql, constants, order = self._postgresql(target.sqlalchemy_dialect, params)
        cursor = target.cursor
        with driver_errors(target.sqlalchemy_dialect, sql):
            if order is None:
                cursor.execute(sql, {**constants, **params})
            else:
                cursor = _raw_cursor(target.pooled)
                given = {**constants, **params}
                cursor.execute(sql, [given[name] for name in order])
            # pgresult's field count, not `description`: that builds a column object per field
            return cursor.fetchall() if cursor.pgresult.nfields else []

    def one_or_none(self, runner: Runner, params: Params) -> Sequence[Any] | None:
        found = self.rows(runner, params)
        if len(found) > 1:
            raise LookupError(f"{len(found)} rows where at most one was expected")
        return found[0] if found else None

    def scalar_or_none(self, runner: Runner, params: Params) -> Any:
        """The first column of the one row found, or None."""
        row = self.one_or_none(runner, params)
        return None if row is None else row[0]

    def write_many(self, runner: Runner, many: Sequence[Params]) -> None:
        """An INSERT (without RETURNING) of several rows, all with the same keys."""
        target = _target(runner)
        if target.cursor is None:
            assert isinstance(runner, Session)
            runner.execute(self.statement(target.dialect), [dict(p) for p in many])
            return
        sql, constants, order = self._postgresql(target.sqlalchemy_dialect, many[0])
        assert order is None, "a write of many rows is short enough for psycopg's cache"
        with driver_errors(target.sqlalchemy_dialect, sql):
            if len(many) == 1:  # psycopg's executemany costs twice an execute for one row
                target.cursor.execute(sql, {**constants, **many[0]})
            else:
                target.cursor.executemany(sql, [{**constants, **params} for params in many])

    def _postgresql(
        self, dialect: Dialect, params: Params
    ) -> tuple[str, dict[str, Any], tuple[str, ...] | None]:
        """The SQL for these parameter names, the values of the statement's own constants, and
        for SQL too large for psycopg's cache the names its `$n` placeholders stand for."""
        keys = tuple(params)
        found = self._sql.get(keys)
        if found is None:
            compiled = self.statement("postgresql").compile(  # type: ignore[attr-defined]
                dialect=dialect, column_keys=list(keys)
            )
            constants = {
                k: v for k, v in compiled.construct_params(dict(params)).items() if k not in keys
            }
            sql, order = str(compiled), None
            if (
                len(sql) > _CACHED_BY_PSYCOPG[0]
                or len(keys) + len(constants) > _CACHED_BY_PSYCOPG[1]
            ):
                sql, order = _numbered(sql)
            found = self._sql[keys] = (sql, constants, order)
        return found


def _numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """`sql` with `$n` placeholders instead of `%(name)s` (one number a name) and `%` for `%%`;
    and the names in the numbers' order."""
    order: list[str] = []

    def placeholder(found: re.Match[str]) -> str:
        name = found.group(1)
        if name is None:
            return "%"
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    return _PLACEHOLDER.sub(placeholder, sql), tuple(order)


@dataclass(frozen=True, slots=True)
class _Target:
    """Where statements run: a session's current transaction (found once per transaction)."""

    transaction: object
    sqlalchemy_dialect: Dialect
    dialect: str
    cursor: Any  # the driver's cursor on PostgreSQL, None elsewhere
    pooled: PoolProxiedConnection | None = None  # PostgreSQL's, for its raw cursor


def _target(runner: Runner) -> _Target:
    if isinstance(runner, AutocommitConnection):
        return runner.target
    found: _Target | None = runner.info.get("hot_target")
    if found is not None and found.transaction is runner.get_transaction():
        return found
    connection = runner.connection()  # begins the transaction if need be
    dialect = connection.dialect.name
    cursor, pooled = None, None
    if dialect == "postgresql":
        pooled = connection.connection
        cursor = _cursor(pooled)
    found = _Target(runner.get_transaction(), connection.dialect, dialect, cursor, pooled)
    runner.info["hot_target"] = found
    return found


def _cursor(pooled: PoolProxiedConnection) -> Any:
    """The driver's cursor of a pooled connection: one per connection, kept while it lives (the
    pool clears `info` when it closes or invalidates the connection)."""
    cursor = pooled.info.get("hot_cursor")
    if cursor is None:
        cursor = pooled.info["hot_cursor"] = cast(Any, pooled.driver_connection).cursor()
    return cursor


def _raw_cursor(pooled: PoolProxiedConnection | None) -> Any:
    """A raw cursor (`$n` placeholders) of a pooled PostgreSQL connection, kept as `_cursor`."""
    assert pooled is not None
    cursor = pooled.info.get("hot_raw_cursor")
    if cursor is None:
        from psycopg import RawCursor  # PostgreSQL's driver, imported where it is used

        cursor = pooled.info["hot_raw_cursor"] = RawCursor(cast(Any, pooled.driver_connection))
    return cursor
