"""Employers: recorded by the agency, registered with it (Social Insurance Law art. 57)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from yibao.adapters.tables import Employer
from yibao.entrypoints.api.deps import CallerDep
from yibao.entrypoints.api.gate import guarded
from yibao.entrypoints.api.schemas import Body, OnDay, day_or_today, router
from yibao.services import registry
from yibao.services.accounts.access import Target

api = router("employers")


class EmployerCreate(Body):
    code: str
    name: str
    area: str


class EmployerPublic(BaseModel):
    code: str
    name: str
    area: str
    registered_on: dt.date | None


def _public(row: Employer) -> EmployerPublic:
    return EmployerPublic(
        code=row.code, name=row.name, area=row.area_code, registered_on=row.registered_on
    )


@api.post("/employers", status_code=201)
def add(body: EmployerCreate, caller: CallerDep) -> EmployerPublic:
    with guarded(caller, "employers.add", Target(area=body.area), "employer") as guard:
        row = registry.add_employer(
            uow=guard.uow, code=body.code, name=body.name, area_code=body.area
        )
        return _public(row)


@api.post("/employers/{code}/registration")
def register(code: str, body: OnDay, caller: CallerDep) -> EmployerPublic:
    """The employer registers with the agency (art. 57: within 30 days of establishment)."""
    with guarded(caller, "employers.register", Target(employer=code), "employer") as guard:
        on = day_or_today(body.on, guard.uow.today())
        return _public(registry.register_employer(uow=guard.uow, code=code, on=on))


@api.get("/employers/{code}")
def read(code: str, caller: CallerDep) -> EmployerPublic:
    with guarded(caller, "employers.read", Target(employer=code), "employer") as guard:
        return _public(registry.employer_by_code(uow=guard.uow, code=code))
