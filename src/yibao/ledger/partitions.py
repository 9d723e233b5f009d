"""The transfer table's monthly partitions on PostgreSQL: made ahead, and never missing.

Since migration 0025 `ledger_transfer` is partitioned by range of value date: what was posted
before the migration stays in one partition (`ledger_transfer_history`, attached unrewritten),
each later month gets its own, and a DEFAULT partition takes a posting whose month has none, so
no posting ever fails for want of a partition. The crediting run and the demo loader make the
months they write (and the current and next month, for the sales to come) before they post:
a month whose postings already went to the DEFAULT partition stays there (moving postings
would rewrite them), which costs speed, never correctness. SQLite keeps one plain table.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from yibao.adapters.db import sqlstate
from yibao.domain.months import Month

PARENT = "ledger_transfer"
DEFAULT = "ledger_transfer_default"
HISTORY = "ledger_transfer_history"
_RANGE = re.compile(r"FROM \((MINVALUE|'[0-9-]+')\) TO \((MAXVALUE|'[0-9-]+')\)")
CHECK_VIOLATION = "23514"
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('ledger_transfer partitions'))"
_BOUNDS = (
    "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
    "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'ledger_transfer'::regclass"
)
# Each partition refuses TRUNCATE itself: the parent's statement trigger does not reach it.
NO_TRUNCATE = (
    "CREATE TRIGGER ledger_transfer_no_truncate BEFORE TRUNCATE ON {table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_transfer_append_only()"
)


def partition_name(month: Month) -> str:
    return f"ledger_transfer_{month.first_day.year:04d}_{month.first_day.month:02d}"


def months_ahead(today: dt.date, *written: dt.date) -> list[Month]:
    """The months a writer of `written` dates prepares: theirs, today's and the next."""
    current = Month.of(today)
    return sorted({Month.of(day) for day in written} | {current, current.plus(1)}, key=str)


def prepare_months(connection: Connection, months: Iterable[Month]) -> list[str]:
    """Give each month its partition unless one covers it; the names of those made now.

    Safe to call concurrently (an advisory lock serializes the makers) and repeatedly. A month
    with postings in the DEFAULT partition is left there. Nothing on SQLite. Run it in a
    transaction of its own: attaching a partition locks the DEFAULT one until commit.
    """
    if connection.dialect.name != "postgresql":
        return []
    connection.execute(text(_LOCK))
    covered = _ranges(connection)
    made = []
    for month in months:
        low, high = month.first_day, month.plus(1).first_day
        if any(start <= low and high <= end for start, end in covered):
            continue
        if _in_default(connection, low, high):
            continue
        if _attach(connection, partition_name(month), low, high):
            covered.append((low, high))
            made.append(partition_name(month))
    return made


def _attach(connection: Connection, name: str, low: dt.date, high: dt.date) -> bool:
    """Make and attach the partition of [low, high); False if a posting of that month reached
    the DEFAULT partition meanwhile (committed while ATTACH waited for its lock)."""
    try:
        with connection.begin_nested():
            connection.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING ALL)"))
            connection.execute(text(NO_TRUNCATE.format(table=name)))
            connection.execute(
                text(
                    f"ALTER TABLE {PARENT} ATTACH PARTITION {name} "
                    f"FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')"
                )
            )
    except IntegrityError as refused:  # the DEFAULT partition's rows would break its range
        if sqlstate(refused) != CHECK_VIOLATION:
            raise
        return False
    return True


def _ranges(connection: Connection) -> list[tuple[dt.date, dt.date]]:
    """(from, to) of every range partition; MINVALUE and MAXVALUE as the extreme dates."""
    ranges = []
    for (bound,) in connection.execute(text(_BOUNDS)).all():
        found = _RANGE.search(str(bound))
        if found is None:
            continue  # DEFAULT
        ranges.append((_day(found[1], dt.date.min), _day(found[2], dt.date.max)))
    return ranges


def _day(bound: str, extreme: dt.date) -> dt.date:
    return extreme if bound in ("MINVALUE", "MAXVALUE") else dt.date.fromisoformat(bound[1:-1])


def _in_default(connection: Connection, low: dt.date, high: dt.date) -> bool:
    return bool(
        connection.execute(
            text(
                f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} "
                "WHERE value_date >= :low AND value_date < :high)"
            ),
            {"low": low, "high": high},
        ).scalar()
    )
