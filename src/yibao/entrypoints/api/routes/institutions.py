"""Designated institutions: recorded, their daily statement, and clearing what they are owed."""

from __future__ import annotations

import datetime as dt

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from yibao.adapters.tables import Institution
from yibao.domain.money import fen_to_yuan
from yibao.entrypoints.api.deps import CallerDep, IdempotencyKey
from yibao.entrypoints.api.gate import Guard, guarded, idempotent, request_digest
from yibao.entrypoints.api.schemas import Body, Yuan, day_or_today, router
from yibao.services import registry
from yibao.services.accounts.access import Target
from yibao.services.settlement import institution_settlement

api = router("institutions")


class InstitutionCreate(Body):
    code: str
    name: str
    kind: str  # pharmacy, hospital or clinic
    area: str


class InstitutionPublic(BaseModel):
    code: str
    name: str
    kind: str
    area: str


class DailyStatementPublic(BaseModel):
    institution: str
    day: dt.date
    settlements: int
    personal_total: Yuan
    own_total: Yuan
    refunds: int
    refunded_personal: Yuan
    ledger_net: Yuan
    reconciled: bool


class ClearingCreate(Body):
    day: dt.date | None = None


class ClearingPublic(BaseModel):
    institution: str
    day: dt.date
    cleared: Yuan


def _public(row: Institution) -> InstitutionPublic:
    return InstitutionPublic(code=row.code, name=row.name, kind=row.kind, area=row.area_code)


@api.post("/institutions", status_code=201)
def add(body: InstitutionCreate, caller: CallerDep) -> InstitutionPublic:
    with guarded(caller, "institutions.add", Target(area=body.area), "institution") as guard:
        row = registry.add_institution(
            uow=guard.uow, code=body.code, name=body.name, kind=body.kind, area_code=body.area
        )
        return _public(row)


@api.get("/institutions/{code}")
def read(code: str, caller: CallerDep) -> InstitutionPublic:
    with guarded(caller, "institutions.read", Target(institution=code), "institution") as guard:
        return _public(registry.institution_by_code(uow=guard.uow, code=code))


@api.get("/institutions/{code}/statements/{day}")
def statement(code: str, day: dt.date, caller: CallerDep) -> DailyStatementPublic:
    """The institution's daily statement, reconciled with the ledger."""
    target = Target(institution=code)
    with guarded(caller, "institutions.statement", target, "statement") as guard:
        s = institution_settlement.daily_statement(uow=guard.uow, institution_code=code, day=day)
    return DailyStatementPublic(
        institution=s.institution_code,
        day=s.day,
        settlements=s.count,
        personal_total=fen_to_yuan(s.personal_fen),
        own_total=fen_to_yuan(s.own_fen),
        refunds=s.refunds,
        refunded_personal=fen_to_yuan(s.refunded_personal_fen),
        ledger_net=fen_to_yuan(s.ledger_net_fen),
        reconciled=s.reconciled,
    )


@api.post("/institutions/{code}/clearings", response_model=ClearingPublic, status_code=201)
def clear(
    code: str, body: ClearingCreate, request: Request, caller: CallerDep, key: IdempotencyKey
) -> JSONResponse:
    """Pay the institution what it is owed for the days up to DAY and not yet cleared."""

    def work(guard: Guard) -> tuple[int, object]:
        day = day_or_today(body.day, guard.uow.today())
        paid = institution_settlement.clear_institution(
            uow=guard.uow, institution_code=code, day=day
        )
        return 201, ClearingPublic(institution=code, day=day, cleared=fen_to_yuan(paid)).model_dump(
            mode="json"
        )

    return idempotent(
        caller,
        key=key,
        digest=request_digest(request, body.model_dump(mode="json")),
        action="institutions.clear",
        target=Target(institution=code),
        resource="clearing",
        work=work,
    )
