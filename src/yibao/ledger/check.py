"""`yibao ledger check`: the invariants, returned as problem records rather than raised."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from yibao.adapters.tables import LedgerAccount, LedgerTransfer
from yibao.ledger.ledger import Ledger

A = LedgerAccount.__table__
T = LedgerTransfer.__table__


@dataclass(frozen=True, slots=True)
class Problem:
    invariant: str
    detail: str


def check_ledger(ledger: Ledger) -> list[Problem]:
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
    for account_id, lowest in ledger.lowest_running_balances().items():
        problems.append(
            Problem("never_overdrawn", f"account {account_id} fell to {lowest} fen after a posting")
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
