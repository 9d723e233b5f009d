"""Family mutual aid (家庭共济): one's personal account may pay for bound family members."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from yibao.adapters.tables import FamilyBinding, Person
from yibao.domain.errors import InvalidInput, NotEnrolled, YibaoError
from yibao.domain.months import Month
from yibao.services.registry import person_by_id_number, person_label, policy_schedule, scheme_on
from yibao.services.uow import UnitOfWork


class NotFamilyMember(YibaoError):
    code = "not_family_member"


def bind(
    *, uow: UnitOfWork, id_number: str, member_id_number: str, relation: str, on: dt.date
) -> FamilyBinding:
    """Let the person's account pay for `member`; relations allowed are the area's policy."""
    payer = person_by_id_number(uow=uow, id_number=id_number)
    member = person_by_id_number(uow=uow, id_number=member_id_number)
    if payer.id == member.id:
        raise InvalidInput(
            "member", "(the person)", "must be someone else: one cannot bind oneself"
        )
    allowed = (
        policy_schedule(uow=uow, area_code=payer.area_code).for_month(Month.of(on)).family_relations
    )
    if relation not in allowed:
        raise InvalidInput(
            "relation", relation, f"is not allowed here (allowed: {', '.join(allowed)})"
        )
    _require_insured(uow, member, on)
    current = _binding(uow, payer.id, member.id, on)
    if current is not None:
        return current
    binding = FamilyBinding(
        payer_person_id=payer.id, member_person_id=member.id, relation=relation, bound_on=on
    )
    uow.session.add(binding)
    uow.session.flush()
    return binding


def unbind(*, uow: UnitOfWork, id_number: str, member_id_number: str, on: dt.date) -> None:
    payer = person_by_id_number(uow=uow, id_number=id_number)
    member = person_by_id_number(uow=uow, id_number=member_id_number)
    binding = _binding(uow, payer.id, member.id, on)
    if binding is None:
        raise NotFamilyMember(f"{person_label(member)} is not bound to {person_label(payer)}")
    binding.unbound_on = on
    uow.session.flush()


def require_bound(*, uow: UnitOfWork, payer: Person, member: Person, on: dt.date) -> None:
    """The payer's account may pay for `member` that day: bound, and the member insured."""
    if payer.id == member.id:
        return
    if _binding(uow, payer.id, member.id, on) is None:
        raise NotFamilyMember(
            f"{person_label(member)} is not a bound family member of {person_label(payer)}; "
            "bind them first (spouse, parent, child)"
        )
    _require_insured(uow, member, on)


def _require_insured(uow: UnitOfWork, member: Person, on: dt.date) -> None:
    """Family aid pays a member's share of medical bills under their own insurance: without
    any scheme that day there is no such share, so no binding and no payment."""
    if scheme_on(uow=uow, person_id=member.id, day=on) is None:
        raise NotEnrolled(
            f"{person_label(member)} has no medical insurance on {on}: "
            "a member with no insurance cannot be bound or paid for"
        )


def _binding(uow: UnitOfWork, payer_id: int, member_id: int, on: dt.date) -> FamilyBinding | None:
    return uow.session.scalars(
        select(FamilyBinding).where(
            FamilyBinding.payer_person_id == payer_id,
            FamilyBinding.member_person_id == member_id,
            FamilyBinding.bound_on <= on,
            (FamilyBinding.unbound_on.is_(None)) | (FamilyBinding.unbound_on > on),
        )
    ).first()
