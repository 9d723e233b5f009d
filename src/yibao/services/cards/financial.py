"""The card's financial (bank) account: in the bank book, never touching the medical account."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from yibao.domain.errors import InvalidInput
from yibao.domain.money import MAX_FEN, fen_to_yuan
from yibao.ledger import accounts
from yibao.ledger.kinds import TransferKind
from yibao.ledger.ledger import Transfer
from yibao.services.cards import require_current_card, state_of
from yibao.services.registry import fields, person_by_id_number
from yibao.services.uow import UnitOfWork


class BankOperation(Protocol):
    def __call__(
        self, *, uow: UnitOfWork, id_number: str, amount_fen: int, on: dt.date, key: str
    ) -> Transfer: ...


def _activated_person_id(uow: UnitOfWork, id_number: str) -> int:
    person = person_by_id_number(uow=uow, id_number=id_number)
    state_of(require_current_card(uow=uow, person=person)).require_financial_use()
    return person.id


def deposit(*, uow: UnitOfWork, id_number: str, amount_fen: int, on: dt.date, key: str) -> Transfer:
    key = fields.ref(key)
    person_id = _activated_person_id(uow, id_number)
    _refuse_beyond_max(uow, person_id, amount_fen)
    return uow.ledger.transfer(
        key=f"deposit:{key}",
        debit=accounts.bank_cash(),
        credit=accounts.financial_account(person_id),
        amount_fen=_positive(amount_fen),
        value_date=on,
        kind=TransferKind.DEPOSIT,
    )


def withdraw(
    *, uow: UnitOfWork, id_number: str, amount_fen: int, on: dt.date, key: str
) -> Transfer:
    key = fields.ref(key)
    person_id = _activated_person_id(uow, id_number)
    return uow.ledger.transfer(
        key=f"withdraw:{key}",
        debit=accounts.financial_account(person_id),
        credit=accounts.bank_cash(),
        amount_fen=_positive(amount_fen),
        value_date=on,
        kind=TransferKind.WITHDRAWAL,
    )


def transfer(
    *,
    uow: UnitOfWork,
    from_id_number: str,
    to_id_number: str,
    amount_fen: int,
    on: dt.date,
    key: str,
) -> Transfer:
    """Between two cards' financial accounts (a bank transfer), both activated."""
    key = fields.ref(key)
    payer = _activated_person_id(uow, from_id_number)
    payee = _activated_person_id(uow, to_id_number)
    if payer == payee:
        raise InvalidInput("to", "(same person)", "must be another person's financial account")
    _refuse_beyond_max(uow, payee, amount_fen)
    return uow.ledger.transfer(
        key=f"bank-transfer:{key}",
        debit=accounts.financial_account(payer),
        credit=accounts.financial_account(payee),
        amount_fen=_positive(amount_fen),
        value_date=on,
        kind=TransferKind.BANK_TRANSFER,
    )


def _refuse_beyond_max(uow: UnitOfWork, person_id: int, amount_fen: int) -> None:
    """A balance beyond BIGINT can neither be stored nor summed (SQLite's SUM overflows)."""
    if uow.ledger.balance_of(accounts.financial_account(person_id)) + amount_fen > MAX_FEN:
        raise InvalidInput(
            "amount", fen_to_yuan(amount_fen), "would take the financial account beyond its maximum"
        )


def _positive(amount_fen: int) -> int:
    if amount_fen <= 0:
        raise InvalidInput("amount", amount_fen, "must be above zero")
    return amount_fen
