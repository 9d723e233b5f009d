"""The balance an account that may not overdraw keeps on its row (migration 0029).

A debit of a personal or financial account is checked against the account's balance and its
last value date under the account's row lock. Summing its transfers for that cost every sale a
read of the partitioned ledger: two index probes in every month's partition and every transfer
of the account, more with every month of history. So these accounts keep `balance_fen` and
`last_posted_on` on their `ledger_account` row. Every single posting moves them in its own
transaction (`Ledger._post`, `post_settlement`). A bulk posting (the crediting run) does not
touch the rows of the accounts it credits: that cost as much as the posting itself. It opens a
batch of its book (`ledger_credit_batch`) and marks the transfers it writes with it
(`batch_id`); an account's balance is what it keeps plus its credits in the batches after its
`folded_batch_id`. Its next debit folds those in under the account's lock (`post_settlement`,
`Ledger.standing`): once per batch and account, the only time a sale reads the partitions.
A book's batches are written one transaction at a time (`lock_batches`), so a batch id a sale
has seen is never followed by a smaller one.
An account that may overdraw (a fund, a payable) keeps NULL: every sale credits one, and a
balance on its row would queue the sales behind each other. `yibao ledger check` compares every
kept balance with the sum of the transfers (`kept_balance_matches`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (
    CTE,
    BigInteger,
    Date,
    String,
    Table,
    and_,
    bindparam,
    case,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from yibao.adapters.hot import HotStatement, Runner
from yibao.adapters.tables import LedgerAccount, LedgerCreditBatch, LedgerTransfer

A = cast(Table, LedgerAccount.__table__)
T = cast(Table, LedgerTransfer.__table__)
B = cast(Table, LedgerCreditBatch.__table__)


def opening_balance(allow_negative: bool) -> int | None:
    """What a new account keeps: 0 if it may not overdraw, else nothing (NULL)."""
    return None if allow_negative else 0


def _later(kept_on: Any, day: Any) -> Any:
    """The later of a kept last value date (NULL: nothing posted yet) and `day`."""
    return case((or_(kept_on.is_(None), kept_on < day), day), else_=kept_on)


# One transfer: its two accounts' kept balances moved, where they keep one.
_DAY = bindparam("value_date", type_=Date)
_MOVE = HotStatement(
    update(A)
    .where(A.c.id.in_([bindparam("debit"), bindparam("credit")]), A.c.balance_fen.is_not(None))
    .values(
        balance_fen=A.c.balance_fen
        + case(
            (A.c.id == bindparam("credit"), bindparam("amount", type_=BigInteger)),
            else_=-bindparam("amount", type_=BigInteger),
        ),
        last_posted_on=_later(A.c.last_posted_on, _DAY),
    )
)


def _unfolded(account: Any, book: Any, folded: Any, figure: Any) -> Any:
    """`figure` of the account's credits in its book's batches after `folded`, not yet kept."""
    return (
        select(figure)
        .select_from(B)
        .join(
            T,
            and_(
                T.c.credit_account_id == account,
                T.c.batch_id == B.c.id,
                T.c.value_date.between(B.c.first_value_date, B.c.last_value_date),
            ),
        )
        .where(B.c.book == book, B.c.id > folded)
        .scalar_subquery()
    )


_KEPT = HotStatement(
    select(
        A.c.balance_fen,
        A.c.last_posted_on,
        select(func.max(B.c.id))  # the book's last batch: folded even if it credits it nothing
        .where(B.c.book == A.c.book, B.c.id > A.c.folded_batch_id)
        .scalar_subquery(),
        _unfolded(
            A.c.id, A.c.book, A.c.folded_batch_id, func.coalesce(func.sum(T.c.amount_fen), 0)
        ),
        _unfolded(A.c.id, A.c.book, A.c.folded_batch_id, func.max(T.c.value_date)),
    ).where(A.c.id == bindparam("id"))
)
_FOLD = HotStatement(
    update(A)
    .where(A.c.id == bindparam("account"))
    .values(
        balance_fen=A.c.balance_fen + bindparam("credited", type_=BigInteger),
        last_posted_on=_later(A.c.last_posted_on, _DAY),
        folded_batch_id=bindparam("batch", type_=BigInteger),
    )
)


def move(
    runner: Runner, *, debit_id: int, credit_id: int, amount_fen: int, value_date: dt.date
) -> None:
    """Move the kept balances of one transfer's accounts, in the transaction that posts it."""
    params = {
        "debit": debit_id,
        "credit": credit_id,
        "amount": amount_fen,
        "value_date": value_date,
    }
    _MOVE.rows(runner, params)


def kept(runner: Runner, account_id: int) -> tuple[int, dt.date | None] | None:
    """(balance, last value date) of an account that keeps them, or None if it keeps none (it
    may overdraw). Its credits in batches it has not folded in yet are folded into its row
    here: the caller holds the row's lock (a debit's)."""
    row = _KEPT.one_or_none(runner, {"id": account_id})
    if row is None or row[0] is None:
        return None
    balance, last, batch, credited, credited_on = row
    if batch is None:
        return int(balance), last
    # The batches' credits are found by their marks; a batch can hold none of this account's.
    if credited_on is not None:
        last = credited_on if last is None or credited_on > last else last
    params = {"account": account_id, "credited": int(credited), "value_date": last, "batch": batch}
    _FOLD.rows(runner, params)
    return int(balance) + int(credited), last


def lock_batches(session: Session, book: str) -> None:
    """Wait for any other transaction writing a batch of `book` (PostgreSQL; SQLite writes one
    transaction at a time): a book's batch ids follow the order their transactions commit in,
    so a sale that folded batch N can never see a batch below N commit later."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(
                func.pg_advisory_xact_lock(
                    func.hashtextextended("ledger_credit_batch " + literal(book, String), 0)
                )
            )
        )


def open_batch(session: Session, book: str) -> int:
    """A new batch of `book` for a bulk posting statement to mark its transfers with; after
    `lock_batches`, so that its id follows the order the batches commit in."""
    return int(session.execute(insert(B).values(book=book).returning(B.c.id)).scalar_one())


def batched(inserted: CTE, batch_id: int) -> CTE:
    """An UPDATE setting the range of value dates of what a bulk insert wrote on its batch
    (PostgreSQL, in the insert's statement): where a fold looks for the batch's credits."""
    return (
        update(B)
        .where(B.c.id == batch_id)
        .values(
            first_value_date=select(func.min(inserted.c.value_date)).scalar_subquery(),
            last_value_date=select(func.max(inserted.c.value_date)).scalar_subquery(),
        )
        .cte("batched")
    )


def insert_counting(session: Session, statement: Any, batch_id: int) -> tuple[int, int]:
    """Run an INSERT ... SELECT into ledger_transfer of rows marked with `batch_id` and set the
    batch's value dates; (rows inserted, fen). PostgreSQL does both in one statement; SQLite
    cannot put an UPDATE in a WITH clause, so what it inserted comes back and is read here."""
    returned = (T.c.amount_fen, T.c.value_date)
    if session.get_bind().dialect.name == "postgresql":
        inserted = statement.returning(*returned).cte("inserted")
        figures = select(func.count(), func.coalesce(func.sum(inserted.c.amount_fen), 0))
        count, total = session.execute(figures.add_cte(batched(inserted, batch_id))).one()
        return int(count), int(total)
    rows = session.execute(statement.returning(*returned)).all()
    if rows:
        days = [day for _, day in rows]
        session.execute(
            update(B)
            .where(B.c.id == batch_id)
            .values(first_value_date=min(days), last_value_date=max(days))
        )
    return len(rows), sum(int(fen) for fen, _ in rows)


def kept_balances_off(session: Session) -> list[tuple[int, str, Any, Any, int, Any]]:
    """(id, code, kept balance, kept last value date, summed balance, last value date) of every
    account whose kept figures (its row's, with its credits in batches not folded in yet) are
    not its transfers', or that may not overdraw and keeps none; one pass over the transfers."""
    legs = union_all(
        select(
            T.c.credit_account_id.label("account_id"), T.c.amount_fen.label("fen"), T.c.value_date
        ),
        select(T.c.debit_account_id, -T.c.amount_fen, T.c.value_date),
    ).subquery("legs")
    moved = (
        select(
            legs.c.account_id,
            func.sum(legs.c.fen).label("balance"),
            func.max(legs.c.value_date).label("last"),
        )
        .group_by(legs.c.account_id)
        .subquery("moved")
    )
    holder = A.alias("holder")
    unfolded = (
        select(
            T.c.credit_account_id.label("account_id"),
            func.sum(T.c.amount_fen).label("fen"),
            func.max(T.c.value_date).label("last"),
        )
        .select_from(T)
        .join(holder, holder.c.id == T.c.credit_account_id)
        .join(
            B,
            and_(
                B.c.book == holder.c.book,
                B.c.id > holder.c.folded_batch_id,
                T.c.batch_id == B.c.id,
            ),
        )
        .group_by(T.c.credit_account_id)
        .subquery("unfolded")
    )
    summed = func.coalesce(moved.c.balance, 0)
    kept = A.c.balance_fen + func.coalesce(unfolded.c.fen, 0)
    kept_on = case(
        (unfolded.c.last.is_(None), A.c.last_posted_on),
        else_=_later(A.c.last_posted_on, unfolded.c.last),
    )
    off = or_(
        and_(A.c.balance_fen.is_(None), A.c.allow_negative == false()),
        kept != summed,
        kept_on.is_distinct_from(moved.c.last),
    )
    rows = session.execute(
        select(A.c.id, A.c.code, kept, kept_on, summed, moved.c.last)
        .outerjoin(moved, moved.c.account_id == A.c.id)
        .outerjoin(unfolded, unfolded.c.account_id == A.c.id)
        .where(or_(A.c.balance_fen.is_not(None), A.c.allow_negative == false()), off)
        .order_by(A.c.id)
    ).all()
    return [(int(r[0]), str(r[1]), r[2], r[3], int(r[4]), r[5]) for r in rows]
