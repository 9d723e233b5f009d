"""A person's transfers: every posting on their personal and financial accounts, in order."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from yibao.ledger import accounts
from yibao.services.registry import person_by_id_number
from yibao.services.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class TransferLine:
    account: str  # "medical" (the personal account) or "financial" (the card's bank account)
    value_date: dt.date
    kind: str
    amount_fen: int  # into the account; negative out of it
    balance_after_fen: int
    memo: str


def account_history(
    *, uow: UnitOfWork, id_number: str, since: dt.date | None = None, until: dt.date | None = None
) -> list[TransferLine]:
    """Both accounts' postings in value-date order, each with the account's balance after it."""
    with uow.reading() as reads:
        return _history(reads, id_number, since, until)


def _history(
    uow: UnitOfWork, id_number: str, since: dt.date | None, until: dt.date | None
) -> list[TransferLine]:
    person = person_by_id_number(uow=uow, id_number=id_number)
    lines: list[TransferLine] = []
    for label, ref in (
        ("medical", accounts.personal_account(person.area_code, person.id)),
        ("financial", accounts.financial_account(person.id)),
    ):
        account_id = uow.ledger.find_account(ref)
        if account_id is None:
            continue
        day_before = since - dt.timedelta(days=1) if since is not None else None
        balance = uow.ledger.balance(account_id, day_before) if day_before is not None else 0
        for line in uow.ledger.history(account_id, since=since, until=until):
            balance += line.amount_fen
            lines.append(
                TransferLine(label, line.value_date, line.kind, line.amount_fen, balance, line.memo)
            )
    lines.sort(key=lambda line: (line.value_date, line.account))
    return lines
