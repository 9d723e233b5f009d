"""Balance inquiry: what a person's two accounts hold, and what a channel shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from yibao.domain.channels import FINANCIAL_CHANNELS
from yibao.ledger import accounts
from yibao.services.registry import person_by_id_number
from yibao.services.uow import UnitOfWork

# An ATM shows the card's financial (bank) account; every other channel the medical account.


@dataclass(frozen=True, slots=True)
class Balances:
    medical_fen: int
    financial_fen: int
    channel: str

    @property
    def shown_fen(self) -> int:
        return self.financial_fen if self.channel in FINANCIAL_CHANNELS else self.medical_fen


def balances(*, uow: UnitOfWork, id_number: str, as_of: dt.date, channel: str) -> Balances:
    """Both balances at the end of `as_of`; the medical book is the person's own area's."""
    person = person_by_id_number(uow=uow, id_number=id_number)
    medical = uow.ledger.balance_of(accounts.personal_account(person.area_code, person.id), as_of)
    financial = uow.ledger.balance_of(accounts.financial_account(person.id), as_of)
    return Balances(medical, financial, channel)
