"""The unit of work: one database transaction that every service call runs inside."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from yibao.adapters.hot import AutocommitConnection, Runner
from yibao.adapters.replica import Replica
from yibao.ledger.ledger import Ledger


class UnitOfWork:
    """`with UnitOfWork(engine) as uow:` commits on success and rolls back on any error."""

    def __init__(
        self,
        engine: Engine,
        *,
        each_statement_commits: bool = False,
        today: Callable[[], dt.date] = dt.date.today,
        replica: Replica | None = None,
    ) -> None:
        self.engine = engine
        self.each_statement_commits = each_statement_commits
        self.today = today  # the real date: no money leaves an account later than this
        self.replica = replica
        self.read_from = "primary"  # where the last `reading()` went

    @contextmanager
    def reading(self) -> Iterator[UnitOfWork]:
        """Where an inquiry's read-only queries run: on the replica when one is configured and
        within its lag bound, else in this unit of work. Writes (an audit entry) stay here."""
        if self.replica is None or not self.replica.serves():
            self.read_from = "primary"
            yield self
            return
        self.read_from = "replica"
        with UnitOfWork(self.replica.engine, today=self.today) as reads:
            yield reads

    def statement_by_statement(self) -> StatementByStatement:
        """The same database, where on PostgreSQL each statement commits on its own."""
        return StatementByStatement(self.engine, today=self.today)

    def __enter__(self) -> UnitOfWork:
        self._session: Session | None = None
        self._ledger: Ledger | None = None
        self._hot: AutocommitConnection | None = None
        self._autocommit = self.each_statement_commits and self.dialect == "postgresql"
        if self._autocommit:
            self._hot = AutocommitConnection(self.engine)
        else:
            self._open_session()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._session is not None:
                self._end_session(committed=exc_type is None)
        finally:
            if self._hot is not None:
                self._hot.close()

    @property
    def session(self) -> Session:
        if self._session is None:
            self._open_session()
        assert self._session is not None
        return self._session

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger(self.session, today=self.today)
        return self._ledger

    @property
    def hot(self) -> Runner:
        """Where `HotStatement`s run: the session, or the autocommitting connection."""
        return self._hot if self._hot is not None else self.session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _open_session(self) -> None:
        bind = self.engine
        if self._autocommit:  # the rarer statements of such a path: retries, family aid
            bind = bind.execution_options(isolation_level="AUTOCOMMIT")
            if self._hot is not None:  # one pooled connection at a time: the session's now
                self._hot.close()
                self._hot = None
        self._session = Session(bind, expire_on_commit=False)
        self._session.begin()

    def _end_session(self, *, committed: bool) -> None:
        session = self._session
        assert session is not None
        try:
            if committed:
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()


class StatementByStatement(UnitOfWork):
    """Not one transaction: on PostgreSQL each statement commits on its own (SQLite keeps one).

    For a path whose reads need no common snapshot and whose money moves in one statement: no
    BEGIN and COMMIT round trips, and its hot statements run on a pooled connection without a
    Session. If something asks for `session`, that connection goes back to the pool and the
    session runs all that follows, still statement by statement.

    The writes allowed on it, each atomic by itself: a POS sale's one `post_settlement` call
    (settlement, lines, ledger transfer and an e-card payload's use in one server-side statement),
    the account a sale opens on first use, and a card sale's PIN try: counted and compared by
    that same call (`cards.PresentedPin`), or, where it cannot be, with the card locked in an
    explicit transaction on the same connection (`cards.pin_checked`,
    `AutocommitConnection.transaction()`; if the sale needs the session, the try is committed
    first). Anything else whose
    writes must agree with each other (a refund, a payment, a crediting batch) runs in a
    `UnitOfWork`.
    """

    def __init__(self, engine: Engine, *, today: Callable[[], dt.date] = dt.date.today) -> None:
        super().__init__(engine, each_statement_commits=True, today=today)
