"""A streaming replica (PostgreSQL physical standby) that serves read-only inquiries.

Its lag is measured against the primary: the WAL bytes it has still to replay
(`pg_current_wal_lsn()` on the primary minus `pg_last_wal_replay_lsn()` on the replica) and, when
it is behind at all, the age of the last transaction it replayed. A replica behind by more than
its bound, or unreachable, serves nothing: the reads go to the primary.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from yibao.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class ReplicaLag:
    """How far the replica is behind the primary at one moment."""

    seconds: float  # 0 when it has replayed everything the primary wrote
    bytes: int  # WAL written on the primary and not yet replayed
    bound_seconds: float

    @property
    def within_bound(self) -> bool:
        return self.seconds <= self.bound_seconds


def lsn_number(lsn: str) -> int:
    """A WAL location (`16/B374D848`) as one number of bytes."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


class Replica:
    """The replica's engine and whether it may serve a read now (checked at most once a second)."""

    def __init__(
        self,
        engine: Engine,
        *,
        primary: Engine,
        max_lag_seconds: float,
        recheck_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_lag_seconds < 0:
            raise InvalidInput(
                "YIBAO_REPLICA_MAX_LAG_SECONDS", max_lag_seconds, "must be 0 or more"
            )
        if engine.dialect.name != "postgresql" or primary.dialect.name != "postgresql":
            shown = engine.url.render_as_string(hide_password=True)
            raise InvalidInput("YIBAO_REPLICA_URL", shown, "needs PostgreSQL on both sides")
        self.engine = engine
        self.primary = primary
        self.max_lag_seconds = max_lag_seconds
        self._recheck_seconds = recheck_seconds
        self._clock = clock
        self._checked: tuple[float, bool] | None = None

    def lag(self) -> ReplicaLag | None:
        """The lag now, or None when the replica cannot be reached (or is not a standby)."""
        try:
            with self.engine.connect() as connection:
                row = connection.execute(
                    text(
                        "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,"
                        " now() - pg_last_xact_replay_timestamp()"
                    )
                ).one()
            with self.primary.connect() as connection:
                current = connection.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one()
        except DBAPIError:
            return None
        in_recovery, replayed, age = row
        if not in_recovery or replayed is None:
            return None
        behind = max(lsn_number(str(current)) - lsn_number(str(replayed)), 0)
        seconds = 0.0 if behind == 0 else _seconds(age)
        return ReplicaLag(seconds=seconds, bytes=behind, bound_seconds=self.max_lag_seconds)

    def serves(self) -> bool:
        """Whether reads may go to the replica: reachable and within its lag bound."""
        now = self._clock()
        if self._checked is not None and now - self._checked[0] < self._recheck_seconds:
            return self._checked[1]
        lag = self.lag()
        serving = lag is not None and lag.within_bound
        self._checked = (now, serving)
        return serving


def _seconds(age: object) -> float:
    """The age of the last replayed transaction; unknown (nothing replayed yet) is endless."""
    if isinstance(age, dt.timedelta):
        return max(age.total_seconds(), 0.0)
    return float("inf")
