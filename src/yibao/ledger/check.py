"""`yibao ledger check`: the invariants, returned as problem records rather than raised."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from yibao.adapters.tables import LedgerAccount, LedgerTransfer
from yibao.ledger.ledger import Ledger
from yibao.ledger.problems import Problem
from yibao.ledger.reconcile import reconcile

__all__ = ["Problem", "check_books", "check_ledger"]

A = LedgerAccount.__table__
T = LedgerTransfer.__table__


def check_ledger(ledger: Ledger) -> list[Problem]:
    """The books' own invariants, then every posting reconciled with the record that caused it."""
    return check_books(ledger) + reconcile(ledger.session)


def check_books(ledger: Ledger) -> list[Problem]:
    """Every book sums to zero, postings stay in their book, no forbidden negative ever."""
    problems = [
        Problem("accounts_exist", f"transfer {transfer_id} names an account that does not exist")
        for transfer_id in transfers_with_missing_accounts(ledger.session)
    ]
    problems += [
        Problem("no_negative", f"{book} {code} holds {balance} fen")
        for book, code, balance in ledger.negative_balances()
    ]
    for book, total in sorted(ledger.book_totals().items()):
        if total != 0:
            problems.append(Problem("book_sums_to_zero", f"{book} sums to {total} fen"))
    for transfer_id in ledger.misbooked_transfers():
        problems.append(Problem("one_book_per_transfer", f"transfer {transfer_id} crosses books"))
    for transfer_id in ledger.bad_reversals():
        problems.append(Problem("reversal_mirrors", f"transfer {transfer_id} is a bad reversal"))
    for overdrawn in overdrawn_accounts(ledger.session):
        problems.append(
            Problem(
                "never_overdrawn",
                f"account {overdrawn.account_id} ({overdrawn.code}) fell to "
                f"{overdrawn.lowest_fen} fen on {overdrawn.day}",
            )
        )
    return problems


def transfers_with_missing_accounts(session: Session) -> list[int]:
    """Transfers whose debit or credit account does not exist.

    ledger_transfer has no foreign keys to ledger_account (migration 0006: checking them row by
    row doubled the cost of a crediting run), and the other checks join the accounts with inner
    joins, where such a transfer would go unseen: this anti-join is what finds it.
    """
    missing = [~exists().where(A.c.id == T.c[column]) for column in _ACCOUNT_REFERENCES]
    rows = session.execute(select(T.c.id).where(or_(*missing)).order_by(T.c.id)).scalars()
    return [int(transfer_id) for transfer_id in rows]


_ACCOUNT_REFERENCES = ("debit_account_id", "credit_account_id")


@dataclass(frozen=True, slots=True)
class Overdrawn:
    account_id: int
    code: str
    lowest_fen: int
    day: dt.date  # the first day the account closed at its lowest


def overdrawn_accounts(session: Session) -> list[Overdrawn]:
    """No-overdraft accounts whose balance at the end of some day was below zero.

    The accounts are replayed in value-date order, the order `ledger balance --as-of` reads
    them in, not in posting (id) order: a posting back-dated before the credit it spent shows
    here. Within one day the credits count before the debits, so what is checked is each day's
    closing balance, the figure a statement or `--as-of` shows; the posting path itself refuses
    any debit the balance does not cover at the moment it is posted.
    """
    legs = union_all(
        select(
            T.c.credit_account_id.label("account_id"), T.c.value_date, T.c.amount_fen.label("fen")
        ),
        select(
            T.c.debit_account_id.label("account_id"), T.c.value_date, (-T.c.amount_fen).label("fen")
        ),
    ).subquery()
    daily = (
        select(legs.c.account_id, legs.c.value_date, func.sum(legs.c.fen).label("net"))
        .join(A, and_(A.c.id == legs.c.account_id, A.c.allow_negative == literal(False)))
        .group_by(legs.c.account_id, legs.c.value_date)
        .subquery()
    )
    closing = select(
        daily.c.account_id,
        daily.c.value_date,
        func.sum(daily.c.net)
        .over(partition_by=daily.c.account_id, order_by=daily.c.value_date)
        .label("balance"),
    ).subquery()
    ranked = (
        select(
            closing.c.account_id,
            closing.c.value_date,
            closing.c.balance,
            func.row_number()
            .over(
                partition_by=closing.c.account_id,
                order_by=(closing.c.balance, closing.c.value_date),
            )
            .label("rank"),
        )
        .where(closing.c.balance < 0)
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.account_id, A.c.code, ranked.c.balance, ranked.c.value_date)
        .join(A, A.c.id == ranked.c.account_id)
        .where(ranked.c.rank == 1)
        .order_by(ranked.c.account_id)
    ).all()
    return [Overdrawn(int(a), str(code), int(fen), _as_date(day)) for a, code, fen, day in rows]


def _as_date(value: object) -> dt.date:
    """SQLite returns a window's date column as text; PostgreSQL as a date."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
