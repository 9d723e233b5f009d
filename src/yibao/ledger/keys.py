"""Idempotency keys unique across every month of a partitioned ledger (PostgreSQL).

A partitioned table's unique indexes must hold its partition column, so on PostgreSQL
`ledger_transfer` (partitioned by value date, migration 0025) cannot keep its key unique: a retry
dated in another month would be a second posting. The key lives in `ledger_key` (key, transfer
id, value date, the transfer a reversal reverses, unique too), claimed by the statement that
posts the transfer: one INSERT ... SELECT per batch or posting, never a trigger per row (that
cost about 10 us a row). A key already claimed makes the claim, and so the posting, nothing.
SQLite keeps one plain table, its key unique there: nothing here is used on it.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    FromClause,
    Index,
    MetaData,
    String,
    Table,
    and_,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from yibao.adapters.tables import LedgerTransfer
from yibao.ledger import balances

T = cast(Table, LedgerTransfer.__table__)
# PostgreSQL only, so not among the ORM models both backends share (adapters/tables.py).
K = Table(
    "ledger_key",
    MetaData(),
    Column("key", String(160), primary_key=True),  # pk_ledger_key
    Column("transfer_id", BigInteger, nullable=False),
    Column("value_date", Date, nullable=False),
    Column("reverses_id", BigInteger),
    Index(
        "uq_ledger_key_reverses_id",
        "reverses_id",
        unique=True,
        postgresql_where=text("reverses_id IS NOT NULL"),
    ),
)
NEXT_ID = literal_column("nextval('ledger_transfer_id_seq')", BigInteger)
KEY_CONSTRAINT = "pk_ledger_key"


def claimed_before(error: IntegrityError) -> bool:
    """Whether `error` is a key's claim refused because another posting claimed it first."""
    diagnostics = getattr(error.orig, "diag", None)
    return getattr(diagnostics, "constraint_name", None) == KEY_CONSTRAINT


# One posting: the key claimed and the transfer written in one statement; no row if the key
# (or the reversal of `reverses_id`) was claimed before.
POST_ONE = text(
    "WITH claimed AS ("
    " INSERT INTO ledger_key (key, transfer_id, value_date, reverses_id)"
    " VALUES (:key, nextval('ledger_transfer_id_seq'), :value_date, :reverses_id)"
    " ON CONFLICT DO NOTHING RETURNING transfer_id)"
    " INSERT INTO ledger_transfer (id, key, book, debit_account_id, credit_account_id,"
    " amount_fen, value_date, kind, memo, reverses_id)"
    " SELECT transfer_id, CAST(:key AS varchar), CAST(:book AS varchar),"
    " CAST(:debit_account_id AS bigint), CAST(:credit_account_id AS bigint),"
    " CAST(:amount_fen AS bigint), CAST(:value_date AS date), CAST(:kind AS varchar),"
    " CAST(:memo AS varchar), CAST(:reverses_id AS bigint) FROM claimed RETURNING id"
)


def by_key() -> Select[Any]:
    """The transfer a key names, found through its claim: one index probe, one partition."""
    return select(T).join(K, and_(T.c.id == K.c.transfer_id, T.c.value_date == K.c.value_date))


def keyed_transfers(dialect: str) -> FromClause:
    """(key, value_date, kind) of every transfer, for lookups by key from other records."""
    if dialect != "postgresql":
        return select(T.c.key, T.c.value_date, T.c.kind).subquery("keyed")
    return (
        select(K.c.key, K.c.value_date, T.c.kind)
        .join(T, and_(T.c.id == K.c.transfer_id, T.c.value_date == K.c.value_date))
        .subquery("keyed")
    )


def insert_claiming(
    session: Session,
    postings: Select[Any],
    columns: tuple[str, ...],
    *,
    skip_posted: bool,
    batch_id: int,
) -> tuple[int, int]:
    """Post `postings` (a select of `columns`), claiming their keys in the same statement.

    Without `skip_posted` every key must be new: the transfers are inserted and their keys
    claimed from what the insert returns (a key claimed before fails the statement on
    `pk_ledger_key`, and the caller tries again skipping them). With it, the keys are claimed
    first and only the rows whose claim was made now are posted. Returns (how many, how many
    fen) were posted. The rows are marked with their bulk posting's batch (`balances`).
    """
    given = postings.subquery("given")
    if not skip_posted:
        posted = (
            insert(T)
            .from_select(["id", *columns], select(NEXT_ID, *given.c))
            .returning(T.c.id, T.c.key, T.c.value_date, T.c.amount_fen)
            .cte("posted")
        )
        claim = insert(K).from_select(
            ["key", "transfer_id", "value_date"],
            select(posted.c.key, posted.c.id, posted.c.value_date),
        )
        figures = select(func.count(), func.coalesce(func.sum(posted.c.amount_fen), 0))
        both = figures.add_cte(claim.cte("claimed"), balances.batched(posted, batch_id))
        count, total = session.execute(both).one()
        return int(count), int(total)
    rows = select(
        *(given.c[index].label(name) for index, name in enumerate(columns)),
        NEXT_ID.label("id"),
    ).cte("rows")
    new_keys = select(rows.c.key, rows.c.id, rows.c.value_date)
    claimed = (
        pg_insert(K)
        .from_select(["key", "transfer_id", "value_date"], new_keys)
        .on_conflict_do_nothing()
        .returning(K.c.transfer_id)
        .cte("claimed")
    )
    chosen = select(rows.c.id, *(rows.c[name] for name in columns)).where(
        rows.c.id.in_(select(claimed.c.transfer_id))
    )
    statement = insert(T).from_select(["id", *columns], chosen)
    return balances.insert_counting(session, statement, batch_id)
