"""The unit of work: one database transaction that every service call runs inside."""

from __future__ import annotations

import weakref
from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from yibao.ledger.ledger import Ledger

_AUTOCOMMIT: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


class UnitOfWork:
    """`with UnitOfWork(engine) as uow:` commits on success and rolls back on any error."""

    def __init__(self, engine: Engine, *, each_statement_commits: bool = False) -> None:
        self.engine = engine
        self.each_statement_commits = each_statement_commits

    def statement_by_statement(self) -> UnitOfWork:
        """The same database, where on PostgreSQL each statement commits on its own.

        For a path whose reads need no common snapshot and whose writing is one statement
        (a POS sale): it saves the BEGIN and COMMIT round trips. SQLite keeps one transaction.
        """
        return UnitOfWork(self.engine, each_statement_commits=True)

    def __enter__(self) -> UnitOfWork:
        self.session = Session(self._bind(), expire_on_commit=False)
        self.session.begin()
        self.ledger = Ledger(self.session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _bind(self) -> Engine:
        if not self.each_statement_commits or self.dialect != "postgresql":
            return self.engine
        found = _AUTOCOMMIT.get(self.engine)
        if found is None:
            found = _AUTOCOMMIT[self.engine] = self.engine.execution_options(
                isolation_level="AUTOCOMMIT"
            )
        return found
