"""Insured persons: recorded, employed and registered, enrolled, and their records linked."""

from __future__ import annotations

import datetime as dt

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from yibao.adapters.tables import Person
from yibao.domain.idnumber import IdNumber, mask
from yibao.domain.money import fen_to_yuan
from yibao.entrypoints.api.deps import CallerDep, IdempotencyKey
from yibao.entrypoints.api.gate import Guard, guarded, idempotent, request_digest
from yibao.entrypoints.api.schemas import Body, OnDay, Yuan, day_or_today, router
from yibao.services import registry
from yibao.services.accounts.access import Target
from yibao.services.registry import record_links
from yibao.services.uow import UnitOfWork

api = router("persons")


class PersonCreate(Body):
    id_number: str
    name: str
    area: str


class PersonPublic(BaseModel):
    id_number: str  # masked: 4201**********1232
    name: str
    area: str
    birth_date: dt.date
    scheme: str | None  # on the day asked (today)
    tier: str | None


class EmploymentCreate(OnDay):
    employer: str


class RegistrationCreate(EmploymentCreate):
    pooled_only: bool = False


class EnrolmentCreate(OnDay):
    scheme: str  # flexible, resident or retiree
    tier: str | None = None


class LinkCreate(OnDay):
    other: str  # the ID number holding records of the same person


def _other(body: LinkCreate) -> str:
    """The other record's ID number, refused by its field before any access is checked."""
    return IdNumber.parse(body.other, field="other").value


class MergePublic(BaseModel):
    person: str
    merged: str
    moved: Yuan


def _public(uow: UnitOfWork, row: Person) -> PersonPublic:
    scheme = registry.scheme_on(uow=uow, person_id=row.id, day=uow.today())
    return PersonPublic(
        id_number=mask(row.id_number),
        name=row.name,
        area=row.area_code,
        birth_date=row.birth_date,
        scheme=str(scheme.scheme) if scheme else None,
        tier=scheme.tier if scheme else None,
    )


def _person(uow: UnitOfWork, id_number: str) -> PersonPublic:
    return _public(uow, registry.person_by_id_number(uow=uow, id_number=id_number))


@api.post("/persons", status_code=201)
def add(body: PersonCreate, caller: CallerDep) -> PersonPublic:
    with guarded(caller, "persons.add", Target(area=body.area), "person") as guard:
        row = registry.add_person(
            uow=guard.uow, id_number=body.id_number, name=body.name, area_code=body.area
        )
        guard.person = row.id_number
        return _public(guard.uow, row)


@api.get("/persons/{id_number}")
def read(id_number: str, caller: CallerDep) -> PersonPublic:
    with guarded(caller, "persons.read", Target(person=id_number), "person") as guard:
        return _person(guard.uow, id_number)


@api.post("/persons/{id_number}/hire")
def hire(id_number: str, body: EmploymentCreate, caller: CallerDep) -> PersonPublic:
    """Employment starts."""
    target = Target(person=id_number, employer=body.employer)
    with guarded(caller, "persons.employment", target, "employment") as guard:
        on = day_or_today(body.on, guard.uow.today())
        registry.hire(uow=guard.uow, id_number=id_number, employer_code=body.employer, on=on)
        return _person(guard.uow, id_number)


@api.post("/persons/{id_number}/registration")
def register(id_number: str, body: RegistrationCreate, caller: CallerDep) -> PersonPublic:
    """The employer registers the employee (art. 58: within 30 days of hiring)."""
    target = Target(person=id_number, employer=body.employer)
    with guarded(caller, "persons.employment", target, "employment") as guard:
        registry.register_employee(
            uow=guard.uow,
            id_number=id_number,
            employer_code=body.employer,
            on=day_or_today(body.on, guard.uow.today()),
            pooled_only=body.pooled_only,
        )
        return _person(guard.uow, id_number)


@api.post("/persons/{id_number}/leave")
def leave(id_number: str, body: EmploymentCreate, caller: CallerDep) -> PersonPublic:
    """Employment ends, and the employee scheme through that employer with it."""
    target = Target(person=id_number, employer=body.employer)
    with guarded(caller, "persons.employment", target, "employment") as guard:
        on = day_or_today(body.on, guard.uow.today())
        registry.leave(uow=guard.uow, id_number=id_number, employer_code=body.employer, on=on)
        return _person(guard.uow, id_number)


@api.post("/persons/{id_number}/enrolment")
def enrol(id_number: str, body: EnrolmentCreate, caller: CallerDep) -> PersonPublic:
    """The person's own scheme changes from a day (flexible with a tier, resident, retiree)."""
    with guarded(caller, "persons.enrol", Target(person=id_number), "enrolment") as guard:
        registry.enroll(
            uow=guard.uow,
            id_number=id_number,
            scheme=body.scheme,
            tier=body.tier,
            on=day_or_today(body.on, guard.uow.today()),
        )
        return _person(guard.uow, id_number)


@api.post("/persons/{id_number}/links", status_code=201)
def link(id_number: str, body: LinkCreate, caller: CallerDep) -> PersonPublic:
    """Record that OTHER holds records of the same person (two numbers or areas)."""
    target = Target(person=id_number, other_person=_other(body))  # a clerk: both of its area
    with guarded(caller, "persons.link", target, "record_link") as guard:
        record_links.link(
            uow=guard.uow,
            id_number=id_number,
            other_id_number=body.other,
            on=day_or_today(body.on, guard.uow.today()),
        )
        return _person(guard.uow, id_number)


@api.post("/persons/{id_number}/merges", response_model=MergePublic, status_code=201)
def merge(
    id_number: str, body: LinkCreate, request: Request, caller: CallerDep, key: IdempotencyKey
) -> JSONResponse:
    """Merge OTHER's records and personal account balance into this person's (once)."""

    def work(guard: Guard) -> tuple[int, object]:
        moved = record_links.merge(
            uow=guard.uow,
            id_number=id_number,
            other_id_number=body.other,
            on=day_or_today(body.on, guard.uow.today()),
        )
        public = MergePublic(
            person=mask(id_number), merged=mask(body.other), moved=fen_to_yuan(moved)
        )
        return 201, public.model_dump(mode="json")

    return idempotent(
        caller,
        key=key,
        digest=request_digest(request, body.model_dump(mode="json")),
        action="persons.merge",
        target=Target(person=id_number, other_person=_other(body)),
        resource="record_merge",
        work=work,
    )
