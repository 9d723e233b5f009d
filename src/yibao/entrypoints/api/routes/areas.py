"""Planning areas and their effective-dated policies (the `area` block of a scenario file)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from yibao.domain.money import fen_to_yuan
from yibao.domain.policy import PolicySchedule
from yibao.entrypoints.api.deps import CallerDep
from yibao.entrypoints.api.gate import guarded
from yibao.entrypoints.api.schemas import Body, Yuan, router
from yibao.services.accounts.access import Target
from yibao.services.registry import load_area, policy_schedule, require_area

api = router("areas")


class AreaCreate(Body):
    code: str
    name: str
    policies: list[dict[str, Any]] = Field(
        description="effective-dated policies, as in a scenario file's `area.policies`"
    )


class PolicyPublic(BaseModel):
    effective_from: str
    base_floor: Yuan
    base_ceiling: Yuan
    employer_rate: str
    employee_rate: str
    retiree_monthly: Yuan
    flexible_tiers: list[str]
    pin_max_tries: int
    family_relations: list[str]


class AreaPublic(BaseModel):
    code: str
    name: str
    policies: list[PolicyPublic]


def _public(code: str, name: str, schedule: PolicySchedule) -> AreaPublic:
    return AreaPublic(
        code=code,
        name=name,
        policies=[
            PolicyPublic(
                effective_from=str(p.effective_from),
                base_floor=fen_to_yuan(p.base_floor_fen),
                base_ceiling=fen_to_yuan(p.base_ceiling_fen),
                employer_rate=str(p.employer_rate),
                employee_rate=str(p.employee_rate),
                retiree_monthly=fen_to_yuan(p.retiree_monthly_fen),
                flexible_tiers=[tier.code for tier in p.flexible_tiers],
                pin_max_tries=p.pin_max_tries,
                family_relations=list(p.family_relations),
            )
            for p in schedule.policies
        ],
    )


@api.post("/areas", status_code=201)
def load(body: AreaCreate, caller: CallerDep) -> AreaPublic:
    """Create an area or add policies from new months; a changed policy is refused."""
    with guarded(caller, "areas.load", Target(area=body.code), "area") as guard:
        schedule = load_area(uow=guard.uow, document=body.model_dump())
        return _public(body.code, body.name, schedule)


@api.get("/areas/{code}")
def read(code: str, caller: CallerDep) -> AreaPublic:
    with guarded(caller, "areas.read", Target(area=code), "area") as guard:
        area = require_area(uow=guard.uow, area_code=code)
        return _public(area.code, area.name, policy_schedule(uow=guard.uow, area_code=code))
