"""The balance an account that may not overdraw keeps on its row (migration 0029).

A debit of a personal or financial account is checked against the account's balance and its
last value date under the account's row lock. Summing its transfers for that cost every sale a
probe of two indexes in every month's partition, more with every month of history; so these
accounts keep `balance_fen` and `last_posted_on` on their `ledger_account` row, and every
posting moves them in the statement or transaction that writes the transfer: `Ledger._post`,
the bulk postings (`bulk_posting`, `keys.insert_claiming`) and `post_settlement`. An account
that may overdraw (a fund, a payable) keeps NULL: every sale credits one, and a balance on its
row would queue the sales behind each other. `yibao ledger check` compares every kept balance
with the sum of the transfers (`kept_balance_matches`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import (
    CTE,
    BigInteger,
    Connection,
    Date,
    Table,
    and_,
    bindparam,
    case,
    false,
    func,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from yibao.adapters.hot import HotStatement, Runner
from yibao.adapters.tables import LedgerAccount, LedgerTransfer

A = cast(Table, LedgerAccount.__table__)
T = cast(Table, LedgerTransfer.__table__)


def opening_balance(allow_negative: bool) -> int | None:
    """What a new account keeps: 0 if it may not overdraw, else nothing (NULL)."""
    return None if allow_negative else 0


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
        last_posted_on=case(
            (or_(A.c.last_posted_on.is_(None), A.c.last_posted_on < _DAY), _DAY),
            else_=A.c.last_posted_on,
        ),
    )
)
_KEPT = HotStatement(select(A.c.balance_fen, A.c.last_posted_on).where(A.c.id == bindparam("id")))


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
    """(balance, last value date) the account keeps, or None if it keeps none."""
    row = _KEPT.one_or_none(runner, {"id": account_id})
    if row is None or row[0] is None:
        return None
    return int(row[0]), row[1]


def credited_by(inserted: CTE) -> CTE:
    """An UPDATE moving the kept balances of the accounts a bulk insert credits (PostgreSQL,
    in the insert's statement). Its rows' debits are of accounts that may overdraw
    (`bulk_posting` refuses others), which keep no balance."""
    moved = (
        select(
            inserted.c.credit_account_id.label("account_id"),
            func.sum(inserted.c.amount_fen).label("amount"),
            func.max(inserted.c.value_date).label("last"),
        )
        .group_by(inserted.c.credit_account_id)
        .subquery("moved")
    )
    later = or_(A.c.last_posted_on.is_(None), A.c.last_posted_on < moved.c.last)
    return (
        update(A)
        .where(A.c.id == moved.c.account_id, A.c.balance_fen.is_not(None))
        .values(
            balance_fen=A.c.balance_fen + moved.c.amount,
            last_posted_on=case((later, moved.c.last), else_=A.c.last_posted_on),
        )
        .cte("kept")
    )


def insert_counting(session: Session, statement: Any) -> tuple[int, int]:
    """Run an INSERT ... SELECT into ledger_transfer and move the kept balances of the
    accounts it credits; (rows inserted, fen). PostgreSQL does both in one statement; SQLite
    cannot put an INSERT in a WITH clause, so what it inserted comes back and is moved here."""
    returned = (T.c.credit_account_id, T.c.amount_fen, T.c.value_date)
    if session.get_bind().dialect.name == "postgresql":
        inserted = statement.returning(*returned).cte("inserted")
        figures = select(func.count(), func.coalesce(func.sum(inserted.c.amount_fen), 0))
        count, total = session.execute(figures.add_cte(credited_by(inserted))).one()
        return int(count), int(total)
    rows = session.execute(statement.returning(*returned)).all()
    move_credits(session, ((int(a), int(fen), day) for a, fen, day in rows))
    return len(rows), sum(int(fen) for _, fen, _ in rows)


def move_credits(runner: Session | Connection, credits: Iterable[tuple[int, int, dt.date]]) -> None:
    """Move the kept balances of the accounts `credits` (account, fen, value date) credit."""
    moved: dict[int, tuple[int, dt.date]] = {}
    for account_id, amount_fen, value_date in credits:
        total, last = moved.get(account_id, (0, value_date))
        moved[account_id] = (total + amount_fen, max(last, value_date))
    if not moved:
        return
    runner.execute(
        update(A)
        .where(A.c.id == bindparam("account"), A.c.balance_fen.is_not(None))
        .values(
            balance_fen=A.c.balance_fen + bindparam("amount"),
            last_posted_on=case(
                (
                    or_(A.c.last_posted_on.is_(None), A.c.last_posted_on < bindparam("last")),
                    bindparam("last"),
                ),
                else_=A.c.last_posted_on,
            ),
        ),
        [
            {"account": account, "amount": amount, "last": last}
            for account, (amount, last) in moved.items()
        ],
    )


def kept_balances_off(session: Session) -> list[tuple[int, str, Any, Any, int, Any]]:
    """(id, code, kept balance, kept last value date, summed balance, last value date) of every
    account whose kept figures are not its transfers', or that may not overdraw and keeps none;
    one pass over the transfers."""
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
    summed = func.coalesce(moved.c.balance, 0)
    off = or_(
        and_(A.c.balance_fen.is_(None), A.c.allow_negative == false()),
        A.c.balance_fen != summed,
        A.c.last_posted_on.is_distinct_from(moved.c.last),
    )
    rows = session.execute(
        select(A.c.id, A.c.code, A.c.balance_fen, A.c.last_posted_on, summed, moved.c.last)
        .outerjoin(moved, moved.c.account_id == A.c.id)
        .where(or_(A.c.balance_fen.is_not(None), A.c.allow_negative == false()), off)
        .order_by(A.c.id)
    ).all()
    return [(int(r[0]), str(r[1]), r[2], r[3], int(r[4]), r[5]) for r in rows]
