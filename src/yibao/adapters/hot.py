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

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Dialect, Engine, Executable
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection

Params = Mapping[str, Any]


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
        self.target = _Target(None, engine.dialect, engine.dialect.name, _cursor(self._pooled))
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
        self._sql: dict[tuple[str, ...], tuple[str, dict[str, Any]]] = {}

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
        sql, constants = self._postgresql(target.sqlalchemy_dialect, params)
        cursor = target.cursor
        with driver_errors(target.sqlalchemy_dialect, sql):
            cursor.execute(sql, {**constants, **params})
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
        sql, constants = self._postgresql(target.sqlalchemy_dialect, many[0])
        with driver_errors(target.sqlalchemy_dialect, sql):
            if len(many) == 1:  # psycopg's executemany costs twice an execute for one row
                target.cursor.execute(sql, {**constants, **many[0]})
            else:
                target.cursor.executemany(sql, [{**constants, **params} for params in many])

    def _postgresql(self, dialect: Dialect, params: Params) -> tuple[str, dict[str, Any]]:
        """The SQL for these parameter names, and the values of the statement's own constants."""
        keys = tuple(params)
        found = self._sql.get(keys)
        if found is None:
            compiled = self.statement("postgresql").compile(  # type: ignore[attr-defined]
                dialect=dialect, column_keys=list(keys)
            )
            constants = {
                k: v for k, v in compiled.construct_params(dict(params)).items() if k not in keys
            }
            found = self._sql[keys] = (str(compiled), constants)
        return found


@dataclass(frozen=True, slots=True)
class _Target:
    """Where statements run: a session's current transaction (found once per transaction)."""

    transaction: object
    sqlalchemy_dialect: Dialect
    dialect: str
    cursor: Any  # the driver's cursor on PostgreSQL, None elsewhere


def _target(runner: Runner) -> _Target:
    if isinstance(runner, AutocommitConnection):
        return runner.target
    found: _Target | None = runner.info.get("hot_target")
    if found is not None and found.transaction is runner.get_transaction():
        return found
    connection = runner.connection()  # begins the transaction if need be
    dialect = connection.dialect.name
    cursor = None
    if dialect == "postgresql":
        cursor = _cursor(connection.connection)
    found = _Target(runner.get_transaction(), connection.dialect, dialect, cursor)
    runner.info["hot_target"] = found
    return found


def _cursor(pooled: PoolProxiedConnection) -> Any:
    """The driver's cursor of a pooled connection: one per connection, kept while it lives (the
    pool clears `info` when it closes or invalidates the connection)."""
    cursor = pooled.info.get("hot_cursor")
    if cursor is None:
        cursor = pooled.info["hot_cursor"] = cast(Any, pooled.driver_connection).cursor()
    return cursor
