"""Family mutual aid (家庭共济): one's personal account may pay for bound family members."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from yibao.adapters.tables import FamilyBinding, Person
from yibao.domain.errors import InvalidInput, NotEnrolled, YibaoError
from yibao.domain.idnumber import mask
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


@dataclass(frozen=True, slots=True)
class BindingLine:
    """A binding seen from one person: whom their account pays for, or who pays for them."""

    payer: str  # masked ID number
    payer_name: str
    member: str  # masked ID number
    member_name: str
    member_id_number: str  # in full: the form that unbinds names it (the payer's own page)
    relation: str
    bound_on: dt.date
    unbound_on: dt.date | None
    pays: bool  # the person asked about is the payer


def bindings_of(*, uow: UnitOfWork, id_number: str) -> list[BindingLine]:
    """Every binding the person is in, as payer or member, current ones first."""
    person = person_by_id_number(uow=uow, id_number=id_number)
    payer, member = aliased(Person), aliased(Person)
    rows = uow.session.execute(
        select(FamilyBinding, payer, member)
        .join(payer, payer.id == FamilyBinding.payer_person_id)
        .join(member, member.id == FamilyBinding.member_person_id)
        .where(
            or_(
                FamilyBinding.payer_person_id == person.id,
                FamilyBinding.member_person_id == person.id,
            )
        )
        .order_by(FamilyBinding.unbound_on.is_not(None), FamilyBinding.bound_on.desc())
    ).all()
    return [
        BindingLine(
            payer=mask(p.id_number),
            payer_name=p.name,
            member=mask(m.id_number),
            member_name=m.name,
            member_id_number=m.id_number,
            relation=binding.relation,
            bound_on=binding.bound_on,
            unbound_on=binding.unbound_on,
            pays=p.id == person.id,
        )
        for binding, p, m in rows
    ]
