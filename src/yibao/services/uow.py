"""The unit of work: one database transaction that every service call runs inside."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from yibao.ledger.ledger import Ledger


class UnitOfWork:
    """`with UnitOfWork(engine) as uow:` commits on success and rolls back on any error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> UnitOfWork:
        self.session = Session(self.engine, expire_on_commit=False)
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
