"""`yibao ledger check`: the invariants, returned as problem records rather than raised."""

from __future__ import annotations

from dataclasses import dataclass

from yibao.ledger.ledger import Ledger


@dataclass(frozen=True, slots=True)
class Problem:
    invariant: str
    detail: str


def check_ledger(ledger: Ledger) -> list[Problem]:
    """Every book sums to zero, postings stay in their book, no forbidden negative ever."""
    problems = [
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
