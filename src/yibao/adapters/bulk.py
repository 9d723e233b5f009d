"""Bulk appends for generated data: COPY on PostgreSQL, batched executemany on SQLite.

Rows are plain tuples in the table's column order given by the caller; dates are ISO strings, so
both drivers store exactly what the ORM would. Ids are chosen by the caller from a range after the
table's current maximum: `lock` first keeps other writers out until the transaction ends, and
`advance_sequences` moves PostgreSQL's id sequences past the new rows before it does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Connection

Row = tuple[Any, ...]

SQLITE_BATCH = 5_000


class BulkLoader:
    """Appends rows through one open SQLAlchemy connection, inside its current transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"

    def _driver(self) -> Any:
        return self.connection.connection.driver_connection

    def lock(self, tables: Sequence[str]) -> None:
        """Keep other writers out of `tables` until commit (SQLite: BEGIN IMMEDIATE does)."""
        if self.postgres:
            names = ", ".join(_quoted(t) for t in tables)
            self.connection.exec_driver_sql(f"LOCK TABLE {names} IN EXCLUSIVE MODE")
            # many short queries over large tables: compiling each one costs more than it saves
            self.connection.exec_driver_sql("SET LOCAL jit = off")

    def next_id(self, table: str) -> int:
        found = self.connection.exec_driver_sql(f"SELECT max(id) FROM {_quoted(table)}").scalar()
        return int(found or 0) + 1

    def append(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        """Write every row; returns how many were written."""
        if self.postgres:
            return self._copy(table, columns, rows)
        return self._executemany(table, columns, rows)

    def append_new(
        self, table: str, columns: Sequence[str], rows: Iterable[Row], *, key: str
    ) -> int:
        """Write the rows whose unique `key` is not in the table yet; returns how many.

        PostgreSQL's COPY cannot skip a duplicate: the rows go to a temporary table first.
        """
        if not self.postgres:
            return self._executemany(table, columns, rows, f" ON CONFLICT ({key}) DO NOTHING")
        staging = self.stage(table, columns, rows)
        names = ", ".join(columns)
        written = self.connection.exec_driver_sql(
            f"INSERT INTO {_quoted(table)} ({names}) SELECT {names} FROM {staging} "
            f"ON CONFLICT ({key}) DO NOTHING"
        ).rowcount
        self.connection.exec_driver_sql(f"TRUNCATE {staging}")
        return int(written)

    def stage(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> str:
        """COPY the rows into a temporary table shaped like `table` (PostgreSQL); its name."""
        staging = _quoted(f"new_{table}")
        self.connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} "
            f"(LIKE {_quoted(table)} INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        self._copy(f"new_{table}", columns, rows)
        return staging

    def _copy(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        count = 0
        statement = f"COPY {_quoted(table)} ({', '.join(columns)}) FROM STDIN"
        with (
            self._driver().cursor() as cursor,
            cursor.copy(
                statement,
                writer=QueuedLibpqWriter(cursor),  # rows are made while the server stores
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    def _executemany(
        self, table: str, columns: Sequence[str], rows: Iterable[Row], conflict: str = ""
    ) -> int:
        marks = ", ".join("?" for _ in columns)
        statement = (
            f"INSERT INTO {_quoted(table)} ({', '.join(columns)}) VALUES ({marks}){conflict}"
        )
        cursor = self._driver().cursor()
        count = 0
        try:
            for batch in _batches(rows, SQLITE_BATCH):
                cursor.executemany(statement, batch)
                count += cursor.rowcount
        finally:
            cursor.close()
        return count

    def advance_sequences(self, tables: Sequence[str]) -> None:
        """Move each PostgreSQL id sequence to the table's max id, so ORM inserts don't collide."""
        if not self.postgres:
            return  # SQLite picks max(rowid) + 1 by itself
        for table in tables:
            self.connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {_quoted(table)}), true) "
                f"WHERE EXISTS (SELECT 1 FROM {_quoted(table)})"
            )

    def analyze(self, tables: Sequence[str]) -> None:
        """Fresh planner statistics after a large load (later queries plan on real sizes)."""
        for table in tables:
            self.connection.exec_driver_sql(f"ANALYZE {_quoted(table)}")


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _quoted(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain table name: {name!r}")
    return f'"{name}"'
