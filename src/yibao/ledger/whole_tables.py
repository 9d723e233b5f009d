"""Session settings for a check that reads whole tables at once, as `yibao ledger check` does."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

WORK_MEM = "128MB"
"""Per sort or hash: the check's aggregates over every posting fit, rather than spill to disk."""


def read_whole_tables(session: Session, work_mem: str = WORK_MEM) -> None:
    """On PostgreSQL, for this transaction only: room to hash and sort in memory, and no JIT.

    A handful of statements each read millions of rows once; at the server's default work_mem
    their hashes split into dozens of batches on disk, and compiling their expressions (JIT)
    costs seconds that a single pass never wins back. SQLite has neither setting.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text(f"SET LOCAL work_mem = '{work_mem}'"))
    session.execute(text("SET LOCAL jit = off"))
