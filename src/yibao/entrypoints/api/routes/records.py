"""A person's records: payment records month by month, transfers, the yearly statement PDF."""

from __future__ import annotations

import datetime as dt

from fastapi import Query, Response
from pydantic import BaseModel

from yibao.domain.money import fen_to_yuan
from yibao.entrypoints.api.deps import CallerDep
from yibao.entrypoints.api.gate import API_CHANNEL, actor_of, guarded
from yibao.entrypoints.api.problems import ERROR_RESPONSES
from yibao.entrypoints.api.schemas import Yuan, router
from yibao.services.accounts import Role
from yibao.services.accounts.access import Target
from yibao.services.contributions.payment_records import payment_records
from yibao.services.inquiry.statements import year_statement
from yibao.services.inquiry.transfers import account_history

api = router("records")


class PaymentRecordPublic(BaseModel):
    month: str
    through_month: str
    received_on: dt.date
    paid_by: str  # the employer's name, or "self"
    scheme: str
    insurances: list[str]
    base: Yuan | None
    medical_employer: Yuan
    medical_person: Yuan
    credit: Yuan | None  # to the personal account; None for an employer, whom it is not
    credited_on: dt.date | None


class TransferPublic(BaseModel):
    account: str  # medical (the personal account) or financial (the card's bank account)
    value_date: dt.date
    kind: str
    amount: Yuan  # negative: out of the account
    balance_after: Yuan
    memo: str


@api.get("/persons/{id_number}/payment-records")
def records(
    id_number: str,
    caller: CallerDep,
    year: int | None = Query(None, ge=1900, le=9999),
) -> list[PaymentRecordPublic]:
    """Which insurances were paid each month, by whom, on what base, and what was credited;
    an employer sees what it paid, nothing else (not what its employee's account got)."""
    target = Target(person=id_number)
    with guarded(caller, "persons.payment_records", target, "payment_records") as guard:
        user = caller.user
        employer = user.scope if user.role is Role.EMPLOYER else None
        lines = payment_records(
            uow=guard.uow,
            id_number=id_number,
            actor=actor_of(caller),
            channel=API_CHANNEL,
            year=year,
            employer_code=employer,
        )
    return [
        PaymentRecordPublic(
            month=line.month,
            through_month=line.through_month,
            received_on=line.received_on,
            paid_by=line.paid_by,
            scheme=line.scheme,
            insurances=list(line.insurances),
            base=fen_to_yuan(line.base_fen) if line.base_fen is not None else None,
            medical_employer=fen_to_yuan(line.medical_employer_fen),
            medical_person=fen_to_yuan(line.medical_person_fen),
            credit=None if employer else fen_to_yuan(line.credit_fen),
            credited_on=None if employer else line.credited_on,
        )
        for line in lines
    ]


@api.get("/persons/{id_number}/transfers")
def transfers(
    id_number: str,
    caller: CallerDep,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> list[TransferPublic]:
    """Every posting on the person's personal and financial accounts, with the balance after."""
    with guarded(caller, "persons.transfers", Target(person=id_number), "transfers") as guard:
        lines = account_history(uow=guard.uow, id_number=id_number, since=since, until=until)
    return [
        TransferPublic(
            account=line.account,
            value_date=line.value_date,
            kind=line.kind,
            amount=fen_to_yuan(line.amount_fen),
            balance_after=fen_to_yuan(line.balance_after_fen),
            memo=line.memo,
        )
        for line in lines
    ]


PDF_RESPONSE = {
    200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
    **ERROR_RESPONSES,
}


@api.get(
    "/persons/{id_number}/statements/{year}.pdf",
    response_class=Response,
    responses=PDF_RESPONSE,
)
def statement(id_number: str, year: int, caller: CallerDep) -> Response:
    """The yearly statement of the personal account (Social Insurance Law art. 74)."""
    with guarded(caller, "persons.statement", Target(person=id_number), f"statement:{year}") as g:
        found = year_statement(uow=g.uow, year=year, id_number=id_number)
    from yibao.adapters.pdf import render_statement  # ReportLab loads only when rendering

    return Response(render_statement(found), media_type="application/pdf")
