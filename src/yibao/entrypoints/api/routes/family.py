"""Family mutual aid (家庭共济): one's personal account may pay for bound family members."""

from __future__ import annotations

import datetime as dt

from fastapi import Response
from pydantic import BaseModel

from yibao.domain.idnumber import mask
from yibao.entrypoints.api.deps import CallerDep
from yibao.entrypoints.api.gate import guarded
from yibao.entrypoints.api.schemas import OnDay, day_or_today, router
from yibao.services.accounts.access import Target
from yibao.services.cards import family

api = router("family")


class BindingCreate(OnDay):
    member: str  # the member's ID number
    relation: str  # spouse, parent, child, ... as the area's policy allows


class BindingPublic(BaseModel):
    payer: str  # masked
    member: str  # masked
    relation: str
    bound_on: dt.date


@api.post("/persons/{id_number}/family", status_code=201)
def bind(id_number: str, body: BindingCreate, caller: CallerDep) -> BindingPublic:
    """Let this person's account pay for MEMBER."""
    with guarded(caller, "family.bind", Target(person=id_number), "family_binding") as guard:
        binding = family.bind(
            uow=guard.uow,
            id_number=id_number,
            member_id_number=body.member,
            relation=body.relation,
            on=day_or_today(body.on, guard.uow.today()),
        )
        return BindingPublic(
            payer=mask(id_number.upper()),
            member=mask(body.member.upper()),
            relation=binding.relation,
            bound_on=binding.bound_on,
        )


@api.post("/persons/{id_number}/family/{member}/unbinding", status_code=204)
def unbind(id_number: str, member: str, body: OnDay, caller: CallerDep) -> Response:
    """End a family mutual aid binding."""
    with guarded(caller, "family.bind", Target(person=id_number), "family_binding") as guard:
        family.unbind(
            uow=guard.uow,
            id_number=id_number,
            member_id_number=member,
            on=day_or_today(body.on, guard.uow.today()),
        )
    return Response(status_code=204)
