"""The unit of work: one database transaction that every service call runs inside."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from yibao.ledger.ledger import Ledger


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
        self.session = Session(self.engine, expire_on_commit=False)
        self.session.begin()
        self.ledger = Ledger(self.session)
        self._autocommitting: Any = None
        if self.each_statement_commits and self.dialect == "postgresql":
            # Set on the driver's connection for this unit only, and set back before the pool
            # has it again: SQLAlchemy's per-checkout isolation switch costs as much as a query.
            driver = self.session.connection().connection.driver_connection
            driver.autocommit = True  # type: ignore[union-attr]
            self._autocommitting = driver
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.session.commit()  # with autocommit, nothing is left to commit
            else:
                self.session.rollback()
        finally:
            if self._autocommitting is not None:
                self._autocommitting.autocommit = False
            self.session.close()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name
