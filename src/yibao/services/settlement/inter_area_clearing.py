"""Clearing between planning areas by period: what area A owes area B for its travellers' bills.

Each bill settled across areas leaves a row in both books (`across_areas`): A's (its fund and
personal account paid, owed to B) and B's (its institution is owed it, by A). For a period, the
bills of a pair settled up to the period's last day and not cleared before must be the same
bills, for the same amounts, in both books; then A's payable to B goes down against A's
settlement clearing account (paid out), B's receivable from A against B's (received), and each
book marks the bills it cleared with the period (a refunded bill is cleared for nothing). A
pair whose books disagree is refused and reported; nothing of it is written. A bill settled late
with an earlier date is cleared by the next period.

The two books commit one after the other, A's first. A run that stopped between them is
completed by the next: a side that cleared the period keeps exactly the bills it cleared, and
the other side clears those. A second run for a cleared period writes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import permutations

from sqlalchemy import case, select, update

from yibao.adapters.tables import InterAreaBill
from yibao.domain.errors import InvalidInput
from yibao.domain.money import fen_to_yuan
from yibao.domain.months import Month
from yibao.ledger import accounts
from yibao.ledger.kinds import TransferKind
from yibao.services.areas import AreaDatabases
from yibao.services.settlement.across_areas import INSURED, TREATING
from yibao.services.uow import UnitOfWork

BillKey = tuple[str, str]  # institution code, reference


@dataclass(frozen=True, slots=True)
class PairCleared:
    payer: str  # the insured area, which owes
    payee: str  # the treating area, which is owed
    period: str
    bills: int
    amount_fen: int
    written: bool  # False: the period was cleared before, this run wrote nothing


@dataclass(frozen=True, slots=True)
class PairRefused:
    payer: str
    payee: str
    period: str
    reason: str


@dataclass(frozen=True, slots=True)
class _Side:
    done: bool  # this book cleared the period already
    bills: dict[BillKey, int]  # what it cleared, or would clear: bill -> fund + account

    @property
    def amount(self) -> int:
        return sum(self.bills.values())


def clear_between_areas(
    *, areas: AreaDatabases, period: Month, today: dt.date
) -> list[PairCleared | PairRefused]:
    """Clear every pair of areas for `period` (ended before `today`); one result per pair that
    has bills."""
    if period.last_day >= today:
        raise InvalidInput("period", str(period), f"has not ended yet (today is {today})")
    results: list[PairCleared | PairRefused] = []
    for payer, payee in permutations(areas.areas, 2):
        result = _clear_pair(areas, payer, payee, period)
        if result is not None:
            results.append(result)
    return results


def _clear_pair(
    areas: AreaDatabases, payer: str, payee: str, period: Month
) -> PairCleared | PairRefused | None:
    with areas.uow(payer) as uow:
        owes = _side(uow, INSURED, payee, period)
    with areas.uow(payee) as uow:
        owed = _side(uow, TREATING, payer, period)
    if not owes.bills and not owed.bills:
        return None
    if owes.done and owed.done:
        return _cleared(payer, payee, period, owes, written=False)
    reason = _disagreement(owes, owed, payer, payee)
    if reason is not None:
        return PairRefused(payer, payee, str(period), reason)
    cleared = owes if owes.done else owed if owed.done else owes
    if not owes.done:
        with areas.uow(payer) as uow:
            _write(uow, INSURED, (payer, payee), period, cleared)
    if not owed.done:
        with areas.uow(payee) as uow:
            _write(uow, TREATING, (payer, payee), period, cleared)
    return _cleared(payer, payee, period, cleared, written=True)


def _cleared(payer: str, payee: str, period: Month, side: _Side, *, written: bool) -> PairCleared:
    return PairCleared(payer, payee, str(period), len(side.bills), side.amount, written)


def _side(uow: UnitOfWork, side: str, other_area: str, period: Month) -> _Side:
    """The bills this book cleared for the period, or else those it would clear now."""
    b = InterAreaBill
    owed = case((b.refunded_on.is_(None), b.personal_fen + b.fund_fen), else_=0)
    mine = select(b.institution_code, b.ref, owed).where(b.side == side, b.other_area == other_area)
    cleared = uow.session.execute(mine.where(b.cleared_in == str(period))).all()
    if cleared:
        return _Side(True, {(str(i), str(r)): int(a) for i, r, a in cleared})
    open_ = uow.session.execute(
        mine.where(b.cleared_in.is_(None), b.settled_on <= period.last_day)
    ).all()
    return _Side(False, {(str(i), str(r)): int(a) for i, r, a in open_})


def _disagreement(owes: _Side, owed: _Side, payer: str, payee: str) -> str | None:
    """Why the two books may not clear: the bills one side cleared or would clear, against
    the other side's."""
    if owes.done:  # the payee side must hold each bill the payer side cleared
        keys = set(owes.bills)
    elif owed.done:
        keys = set(owed.bills)
    else:
        keys = set(owes.bills) | set(owed.bills)
    differing = sorted(k for k in keys if owes.bills.get(k) != owed.bills.get(k))
    if not differing:
        return None
    shown = ", ".join(
        f"{code}/{ref} ({payer}: {_yuan(owes.bills.get((code, ref)))}, "
        f"{payee}: {_yuan(owed.bills.get((code, ref)))})"
        for code, ref in differing[:5]
    )
    more = f" and {len(differing) - 5} more" if len(differing) > 5 else ""
    return (
        f"{payer}'s book owes {payee} {fen_to_yuan(owes.amount)} yuan for {len(owes.bills)} "
        f"bills, {payee}'s book is owed {fen_to_yuan(owed.amount)} yuan for {len(owed.bills)}: "
        f"they differ on {shown}{more}"
    )


def _yuan(fen: int | None) -> str:
    return "none" if fen is None else fen_to_yuan(fen)


def _write(
    uow: UnitOfWork, side: str, pair: tuple[str, str], period: Month, cleared: _Side
) -> None:
    """Mark this book's bills of `cleared` with the period and post the clearing, at once."""
    payer, payee = pair
    own, other = (payer, payee) if side == INSURED else (payee, payer)
    b = InterAreaBill
    rows = uow.session.execute(
        select(b.id, b.institution_code, b.ref)
        .where(b.side == side, b.other_area == other, b.cleared_in.is_(None))
        .with_for_update()
    ).all()
    ids = [row_id for row_id, code, ref in rows if (code, ref) in cleared.bills]
    if len(ids) != len(cleared.bills):  # cleared meanwhile, by a run of its own
        raise InvalidInput("period", str(period), f"was cleared meanwhile in {own}'s book")
    uow.session.execute(update(b).where(b.id.in_(ids)).values(cleared_in=str(period)))
    if not cleared.amount:
        return
    inter_area, clearing = accounts.inter_area(own, other), accounts.settlement_clearing(own)
    uow.ledger.transfer(
        key=f"inter-area-clearing:{period}:{payer}:{payee}",
        debit=inter_area if side == INSURED else clearing,
        credit=clearing if side == INSURED else inter_area,
        amount_fen=cleared.amount,
        value_date=period.last_day,
        kind=TransferKind.INTER_AREA_CLEARING,
        memo=f"{payer} to {payee}, {len(cleared.bills)} bills of {period} and before",
    )
