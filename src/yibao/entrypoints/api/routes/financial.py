"""The card's financial (bank) account: its balance, deposits and withdrawals at the bank."""

from __future__ import annotations

import datetime as dt

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from yibao.domain.idnumber import mask
from yibao.domain.money import fen_to_yuan, yuan_to_fen
from yibao.entrypoints.api.deps import CallerDep, IdempotencyKey
from yibao.entrypoints.api.gate import Guard, guarded, idempotent, request_digest
from yibao.entrypoints.api.schemas import Body, Yuan, day_or_today, router
from yibao.ledger import accounts
from yibao.services.accounts.access import Target
from yibao.services.cards import financial
from yibao.services.registry import person_by_id_number

api = router("financial account")


class MovementCreate(Body):
    amount: Yuan
    ref: str  # the counter's reference
    on: dt.date | None = None


class FinancialAccountPublic(BaseModel):
    person: str  # masked
    balance: Yuan


class MovementPublic(FinancialAccountPublic):
    amount: Yuan
    ref: str


@api.get("/persons/{id_number}/financial-account")
def read(id_number: str, caller: CallerDep) -> FinancialAccountPublic:
    with guarded(caller, "financial.read", Target(person=id_number), "financial_account") as g:
        person = person_by_id_number(uow=g.uow, id_number=id_number)
        balance = g.uow.ledger.balance_of(accounts.financial_account(person.id))
    return FinancialAccountPublic(person=mask(person.id_number), balance=fen_to_yuan(balance))


def _move(
    id_number: str,
    body: MovementCreate,
    request: Request,
    caller: CallerDep,
    key: str,
    operation: financial.BankOperation,
) -> JSONResponse:
    def work(guard: Guard) -> tuple[int, object]:
        fen = yuan_to_fen(body.amount)
        on = day_or_today(body.on, guard.uow.today())
        operation(uow=guard.uow, id_number=id_number, amount_fen=fen, on=on, key=body.ref)
        person = person_by_id_number(uow=guard.uow, id_number=id_number)
        left = guard.uow.ledger.balance_of(accounts.financial_account(person.id))
        public = MovementPublic(
            person=mask(person.id_number),
            balance=fen_to_yuan(left),
            amount=fen_to_yuan(fen),
            ref=body.ref,
        )
        return 201, public.model_dump(mode="json")

    return idempotent(
        caller,
        key=key,
        digest=request_digest(request, body.model_dump(mode="json")),
        action="financial.move",
        target=Target(person=id_number),
        resource="financial_account",
        work=work,
    )


@api.post(
    "/persons/{id_number}/financial-account/deposits",
    response_model=MovementPublic,
    status_code=201,
)
def deposit(
    id_number: str, body: MovementCreate, request: Request, caller: CallerDep, key: IdempotencyKey
) -> JSONResponse:
    """Deposit cash into the card's financial account (never the medical one)."""
    return _move(id_number, body, request, caller, key, financial.deposit)


@api.post(
    "/persons/{id_number}/financial-account/withdrawals",
    response_model=MovementPublic,
    status_code=201,
)
def withdraw(
    id_number: str, body: MovementCreate, request: Request, caller: CallerDep, key: IdempotencyKey
) -> JSONResponse:
    """Withdraw cash from the card's financial account (never from the medical account)."""
    return _move(id_number, body, request, caller, key, financial.withdraw)
