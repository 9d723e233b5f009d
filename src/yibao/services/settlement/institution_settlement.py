"""Settlement with institutions: the daily statement per institution, and clearing its payable."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from yibao.adapters.tables import LedgerTransfer, Settlement
from yibao.ledger import accounts
from yibao.ledger.kinds import TransferKind
from yibao.services.registry import institution_by_code
from yibao.services.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class DailyStatement:
    institution_code: str
    day: dt.date
    count: int
    personal_fen: int
    own_fen: int
    refunds: int
    refunded_personal_fen: int
    ledger_net_fen: int  # what the ledger moved into the payable that day
    fund_fen: int = 0  # what the pooled fund paid for that day's sales
    refunded_fund_fen: int = 0  # ... and took back with that day's refunds

    @property
    def reconciled(self) -> bool:
        owed = self.personal_fen + self.fund_fen
        return self.ledger_net_fen == owed - self.refunded_personal_fen - self.refunded_fund_fen


def daily_statement(*, uow: UnitOfWork, institution_code: str, day: dt.date) -> DailyStatement:
    institution = institution_by_code(uow=uow, code=institution_code)
    s = Settlement
    count, personal, own, fund = uow.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(s.personal_fen), 0),
            func.coalesce(func.sum(s.own_fen), 0),
            func.coalesce(func.sum(s.fund_fen), 0),
        ).where(s.institution_id == institution.id, s.settled_on == day)
    ).one()
    refunds, refunded, refunded_fund = uow.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(s.personal_fen), 0),
            func.coalesce(func.sum(s.fund_fen), 0),
        ).where(s.institution_id == institution.id, s.refunded_on == day)
    ).one()
    payable = uow.ledger.account_id(
        accounts.institution_payable(institution.area_code, institution.code)
    )
    t = LedgerTransfer
    into, out = (
        uow.session.scalar(
            select(func.coalesce(func.sum(t.amount_fen), 0)).where(
                column == payable, t.value_date == day, t.kind != TransferKind.CLEARING
            )
        )
        for column in (t.credit_account_id, t.debit_account_id)
    )
    return DailyStatement(
        institution.code,
        day,
        int(count),
        int(personal),
        int(own),
        int(refunds),
        int(refunded),
        int(into or 0) - int(out or 0),
        int(fund),
        int(refunded_fund),
    )


def clear_institution(*, uow: UnitOfWork, institution_code: str, day: dt.date) -> int:
    """Pay the institution what it is owed for business up to `day` and not yet cleared.

    Clearing a day is idempotent (a repeat returns what that day's clearing paid). Days may be
    cleared out of order: clearings dated after `day` already paid part of what `day` owes, so
    only the rest is paid, and nothing if they paid it all. The payable's row is locked first,
    so concurrent clearings of the same institution see each other's payments.
    """
    institution = institution_by_code(uow=uow, code=institution_code)
    payable = accounts.institution_payable(institution.area_code, institution.code)
    uow.ledger.locked_balance(payable)
    key = f"clearing:{institution.code}:{day}"
    done = uow.ledger.get(key)
    if done is not None:
        return done.amount_fen
    owed = uow.ledger.balance_of(payable, day) - _cleared_after(uow, payable, day)
    if owed <= 0:
        return 0
    uow.ledger.transfer(
        key=key,
        debit=payable,
        credit=accounts.settlement_clearing(institution.area_code),
        amount_fen=owed,
        value_date=day,
        kind=TransferKind.CLEARING,
    )
    return owed


def _cleared_after(uow: UnitOfWork, payable: accounts.AccountRef, day: dt.date) -> int:
    """What clearings dated after `day` paid out of the payable."""
    t = LedgerTransfer
    paid = uow.session.scalar(
        select(func.coalesce(func.sum(t.amount_fen), 0)).where(
            t.debit_account_id == uow.ledger.account_id(payable),
            t.kind == TransferKind.CLEARING,
            t.value_date > day,
        )
    )
    return int(paid or 0)
