"""Posting many transfers at once: the crediting run and the demo loader.

The set-based twin of `Ledger.transfer`, applying the same rules to every row. One book: each
transfer's accounts are found in the debit's book. No overdraft: the debit may go negative (a
pooled fund, contribution income), since a set-based balance check per row would cost more than
the posting; a debit of an account that may not overdraw goes through `Ledger.transfer`. The
key: a row whose key was posted before is skipped (ON CONFLICT DO NOTHING), so a retried or
resumed run posts each key once. An owner new to the book gets its account as its first row is
posted. Value dates bind only debits of no-overdraft accounts: none here. Kept balances: the
credited accounts' rows are not touched; each statement marks the transfers it writes with a
batch of its book (`balances`), folded into each account's row by its next debit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    String,
    Table,
    TextClause,
    and_,
    column,
    exists,
    false,
    literal,
    select,
    text,
    true,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import CompoundSelect, Select

from yibao.adapters.bulk import BulkLoader, Row
from yibao.adapters.db import insert_skipping_duplicates
from yibao.adapters.tables import LedgerAccount, LedgerTransfer
from yibao.domain.errors import InvalidInput
from yibao.ledger import balances, keys
from yibao.ledger.accounts import NO_OVERDRAFT, AccountKind, AccountRef
from yibao.ledger.kinds import TransferKind

A = cast(Table, LedgerAccount.__table__)
T = cast(Table, LedgerTransfer.__table__)

TRANSFER_COLUMNS = (
    "key",
    "book",
    "debit_account_id",
    "credit_account_id",
    "amount_fen",
    "value_date",
    "kind",
    "memo",
)


def account_code(kind: AccountKind, owner: ColumnElement[Any]) -> ColumnElement[str]:
    """`AccountRef.code` in SQL: `kind:owner`."""
    return literal(f"{kind}:", String) + sql_cast(owner, String)


def open_accounts(
    session: Session, *, book: str, kind: AccountKind, owners: Select[Any] | CompoundSelect[Any]
) -> int:
    """Open, in one statement, the `kind` account of each person in `owners` that has none.

    An account is looked for by its owner, as `post_to_owners` finds it, not by its code: a
    probe by number, where the code would be built and compared as text for every owner.

    Many accounts opened at once refresh the table's statistics (PostgreSQL): the statements
    that follow, and the next run's, are planned for the table as it is. Planned for the
    table as it was, a city's second crediting run took a 1M-person city's accounts for a
    handful and probed them all for each person (more than 12 minutes instead of seconds).
    """
    people = owners.subquery()
    person_id = people.c[0]
    rows = (
        select(
            literal(book, String),
            account_code(kind, person_id),
            literal(str(kind), String),
            false() if kind in NO_OVERDRAFT else true(),
            person_id,
            literal(balances.opening_balance(kind not in NO_OVERDRAFT), BigInteger),
        )
        .distinct()
        .where(
            ~exists().where(
                A.c.owner_person_id == person_id, A.c.book == book, A.c.kind == str(kind)
            )
        )
    )
    statement = (
        insert_skipping_duplicates(_dialect(session), A)
        .from_select(
            ["book", "code", "kind", "allow_negative", "owner_person_id", "balance_fen"], rows
        )
        .on_conflict_do_nothing()
        .returning(A.c.id)
    )
    opened = len(session.execute(statement).all())
    if opened > ANALYZE_AFTER_OPENING and _dialect(session) == "postgresql":
        session.execute(text("ANALYZE ledger_account"))
    return opened


def post_to_owners(
    session: Session,
    *,
    debit: AccountRef,
    debit_id: int,
    credit_kind: AccountKind,
    rows: Select[Any],
) -> tuple[int, int]:
    """Post each row from `debit` to its owner's `credit_kind` account in the same book.

    `rows` selects (key, owner_person_id, amount_fen, value_date, kind, memo). An owner without
    such an account gets one: the rows are joined to the accounts without a pass to find who
    lacks one, since an owner without an account is rare (a person new to the book) and makes
    the insert fail on its NOT NULL account; then the accounts are opened and the rows posted
    again. Returns (how many, how many fen) were posted now.
    """
    _require_may_overdraw(debit)
    given = rows.subquery()
    key, owner, amount, value_date, kind, memo = given.c
    postings = (
        select(
            key,
            literal(debit.book, String),
            literal(debit_id),
            A.c.id,
            amount,
            value_date,
            kind,
            memo,
        )
        .select_from(given)
        .outerjoin(
            A,
            and_(
                A.c.owner_person_id == owner, A.c.book == debit.book, A.c.kind == str(credit_kind)
            ),
        )
        .where(amount > 0)
    )
    try:
        return _insert(session, debit.book, postings)
    except IntegrityError as refused:
        if _column(refused) != "credit_account_id" and "credit_account_id" not in str(refused):
            raise
    open_accounts(
        session, book=debit.book, kind=credit_kind, owners=select(owner).where(amount > 0)
    )
    return _insert(session, debit.book, postings)


def post_to_accounts(
    session: Session, *, debit: AccountRef, debit_id: int, rows: Select[Any]
) -> tuple[int, int]:
    """Post each row from `debit` to the account it names, in the same book.

    `rows` selects (key, credit_account_id, amount_fen, value_date, kind, memo), their accounts
    found by the caller in the debit's book, once for many batches (the crediting run); a row
    naming no account fails the statement, and the ledger check names a posting whose accounts
    are in two books (`transfers_off_their_books`). Returns (how many, how many fen) were posted
    now; a key posted before is skipped.
    """
    _require_may_overdraw(debit)
    given = rows.subquery()
    key, account, amount, value_date, kind, memo = given.c
    postings = select(
        key,
        literal(debit.book, String),
        literal(debit_id),
        account,
        amount,
        value_date,
        kind,
        memo,
    ).where(amount > 0)
    return _insert(session, debit.book, postings)


ANALYZE_AFTER_OPENING = 10_000  # accounts opened at once before the statistics are refreshed


def _insert(session: Session, book: str, postings: Select[Any]) -> tuple[int, int]:
    """(how many, how many fen) of `postings` were inserted; a key posted before is skipped.

    A key posted before is rare (a run resumed or repeated): on PostgreSQL, checking each row
    for it as it is inserted (ON CONFLICT) costs a quarter of the insert. The rows are inserted
    plainly under a savepoint, their keys claimed in `ledger_key` by the same statement
    (`keys.insert_claiming`); only if a key was claimed before are they inserted again,
    skipping those. The rows are marked with a new batch of `book` (`balances`): the credited
    accounts' rows are not moved here.
    """
    balances.lock_batches(session, book)
    batch_id = balances.open_batch(session, book)
    postings = postings.add_columns(literal(batch_id, BigInteger))
    columns = (*TRANSFER_COLUMNS, "batch_id")
    if _dialect(session) == "postgresql":
        try:
            with session.begin_nested():
                return keys.insert_claiming(
                    session, postings, columns, skip_posted=False, batch_id=batch_id
                )
        except IntegrityError as refused:
            if not keys.claimed_before(refused):
                raise
        with session.begin_nested():
            return keys.insert_claiming(
                session, postings, columns, skip_posted=True, batch_id=batch_id
            )
    with session.begin_nested():
        statement = (
            insert_skipping_duplicates(_dialect(session), T)
            .from_select(list(columns), postings)
            .on_conflict_do_nothing(index_elements=["key"])  # posted before: by a run that died
        )
        return balances.insert_counting(session, statement, batch_id)


def _column(error: IntegrityError) -> str | None:
    """The column a NOT NULL violation names (PostgreSQL; SQLite names it in its message)."""
    diagnostics = getattr(error.orig, "diag", None)
    return getattr(diagnostics, "column_name", None)


def append_between(
    loader: BulkLoader,
    *,
    debit: AccountRef,
    debit_id: int,
    credit: AccountRef,
    credit_id: int,
    rows: Iterable[Row],
) -> int:
    """Append generated transfers from `debit` to `credit` (COPY on PostgreSQL).

    `rows` are (id, key, amount_fen, value_date, kind, memo); ids chosen by the caller, dates
    ISO strings (`BulkLoader`). Returns how many were posted (a key posted before is skipped).
    """
    if debit.book != credit.book:
        raise InvalidInput("book", f"{debit.book} -> {credit.book}", "mixes two books")
    _require_may_overdraw(debit)
    if not credit.allow_negative:  # its kept balance would not be moved (ledger.balances)
        raise InvalidInput(
            "credit", credit.code, "keeps its balance: post to it with post_to_owners"
        )
    columns = ("id", *TRANSFER_COLUMNS)
    full_rows = _full_rows(rows, debit, debit_id, credit_id)
    if not loader.postgres:
        return loader.append_new("ledger_transfer", columns, full_rows, key="key")
    staged = loader.stage("ledger_transfer", columns, full_rows)
    names = ", ".join(columns)
    written = loader.connection.exec_driver_sql(
        f"WITH claimed AS (INSERT INTO ledger_key (key, transfer_id, value_date) "
        f"SELECT key, id, value_date FROM {staged} ON CONFLICT DO NOTHING RETURNING transfer_id) "
        f"INSERT INTO ledger_transfer ({names}) SELECT {names} FROM {staged} "
        "WHERE id IN (SELECT transfer_id FROM claimed)"
    ).rowcount
    loader.connection.exec_driver_sql(f"TRUNCATE {staged}")
    return int(written)


def _full_rows(
    rows: Iterable[Row], debit: AccountRef, debit_id: int, credit_id: int
) -> Iterator[Row]:
    for transfer_id, key, amount_fen, value_date, kind, memo in rows:
        if amount_fen <= 0:
            raise InvalidInput("amount", amount_fen, "must be above zero fen")
        yield (
            transfer_id,
            key,
            debit.book,
            debit_id,
            credit_id,
            amount_fen,
            value_date,
            kind,
            memo[:200],
        )


def _require_may_overdraw(debit: AccountRef) -> None:
    if not debit.allow_negative:
        raise InvalidInput(
            "debit", debit.code, "may not overdraw: post its debits one by one (Ledger.transfer)"
        )


def _dialect(session: Session) -> str:
    return str(session.get_bind().dialect.name)


def post_between(
    session: Session,
    *,
    debit: AccountRef,
    debit_id: int,
    credit_id: int,
    rows: TextClause | Select[Any],
    kind: TransferKind,
) -> tuple[int, int]:
    """Post each row from `debit` to one account of the same book, set-based (an import).

    `rows` selects (key, amount_fen, value_date, memo); a key posted before is skipped, as in
    `post_to_owners`. A select may read a data-modifying WITH (the rows it inserts): it runs in
    the posting's statement, and again if the posting is retried. Returns (how many, how many
    fen) were posted now.
    """
    if isinstance(rows, TextClause):
        given = rows.columns(
            column("key", String),
            column("amount_fen", BigInteger),
            column("value_date", Date),
            column("memo", String),
        ).subquery()
    else:
        given = rows.subquery()
    to_account = select(
        given.c.key,
        literal(credit_id, BigInteger),
        given.c.amount_fen,
        given.c.value_date,
        literal(str(kind), String),
        given.c.memo,
    )
    return post_to_accounts(session, debit=debit, debit_id=debit_id, rows=to_account)
