"""Contributions: a payment for one person and month (or a resident's year)."""

from __future__ import annotations

import datetime as dt

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from yibao.domain.money import fen_to_yuan, yuan_to_fen
from yibao.domain.months import Month
from yibao.entrypoints.api.deps import CallerDep, IdempotencyKey
from yibao.entrypoints.api.gate import Guard, idempotent, request_digest
from yibao.entrypoints.api.schemas import Body, Yuan, day_or_today, router
from yibao.services.accounts.access import Target
from yibao.services.contributions import ContributionCmd, record_contribution

api = router("contributions")


class ContributionCreate(Body):
    person: str = Field(description="ID number")
    insurances: list[str] = Field(description="pension, medical, unemployment, injury, maternity")
    month: str | None = Field(None, description="the month paid for, YYYY-MM")
    year: int | None = Field(None, description="residents: the year paid for")
    base: Yuan | None = Field(None, description="the monthly wage base in yuan")
    received: dt.date | None = Field(None, description="the day it was received (today)")
    ref: str | None = Field(None, description="the payer's reference")


class ContributionPublic(BaseModel):
    contribution_id: int
    scheme: str
    month: str
    through_month: str
    base: Yuan | None
    medical_employer: Yuan
    medical_person: Yuan
    credit: Yuan  # credited to the personal account at month end


@api.post("/contributions", response_model=ContributionPublic, status_code=201)
def pay(
    body: ContributionCreate, request: Request, caller: CallerDep, key: IdempotencyKey
) -> JSONResponse:
    """Record a payment; back pay is priced under the policy of the month it pays for."""

    def work(guard: Guard) -> tuple[int, object]:
        cmd = ContributionCmd(
            id_number=body.person,
            received_on=day_or_today(body.received, guard.uow.today()),
            insurances=tuple(body.insurances),
            month=Month.parse(body.month) if body.month is not None else None,
            year=body.year,
            base_fen=yuan_to_fen(body.base, field="base") if body.base is not None else None,
            key=body.ref,
        )
        receipt = record_contribution(uow=guard.uow, cmd=cmd)
        public = ContributionPublic(
            contribution_id=receipt.contribution_id,
            scheme=str(receipt.scheme),
            month=receipt.month,
            through_month=receipt.through_month,
            base=fen_to_yuan(receipt.base_fen) if receipt.base_fen is not None else None,
            medical_employer=fen_to_yuan(receipt.medical_employer_fen),
            medical_person=fen_to_yuan(receipt.medical_person_fen),
            credit=fen_to_yuan(receipt.credit_fen),
        )
        return 201, public.model_dump(mode="json")

    return idempotent(
        caller,
        key=key,
        digest=request_digest(request, body.model_dump(mode="json")),
        action="contributions.pay",
        target=Target(person=body.person),
        resource="contribution",
        work=work,
    )
