"""Who may do what: the access rules as one table, and the check of a request's scope.

`RULES` maps each action of the API to the roles allowed it and the scope each is held to.
A role missing from an action's row is refused whatever it asks for; a role held to a scope is
refused unless the request's target is inside it. A target that cannot be shown to be inside
(an unknown person, say) is refused the same way, so a refusal never tells whether a record
exists. The API's routes name their action; a test walks the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import exists, select

from yibao.adapters.tables import Card, Employer, Employment, Institution, Person
from yibao.domain.errors import YibaoError
from yibao.services.accounts import Role, User
from yibao.services.uow import UnitOfWork


class Scope(StrEnum):
    ALL = "all"  # any record
    AREA = "area"  # a clerk: records of its own planning area
    EMPLOYER = "employer"  # an employer: itself, and the persons it employs or employed
    INSTITUTION = "institution"  # an institution: itself, its own sales
    PERSON = "person"  # a person: their own records
    PRESENTED = "presented"  # the request carries the person's card and PIN, or ID and password


class Forbidden(YibaoError):
    code = "forbidden"


ADMIN, CLERK, EMPLOYER, INSTITUTION = Role.ADMIN, Role.CLERK, Role.EMPLOYER, Role.INSTITUTION
PERSON, AUDITOR, BANK, HOTLINE = Role.PERSON, Role.AUDITOR, Role.BANK, Role.HOTLINE
A, AREA, OWN_EMPLOYER, OWN_INSTITUTION = Scope.ALL, Scope.AREA, Scope.EMPLOYER, Scope.INSTITUTION
OWN, PRESENTED = Scope.PERSON, Scope.PRESENTED

_AGENCY = {ADMIN: A, CLERK: AREA}
RULES: dict[str, dict[Role, Scope]] = {
    # registry
    "areas.load": {ADMIN: A},
    "areas.read": _AGENCY,
    "employers.add": _AGENCY,
    "employers.register": _AGENCY,
    "employers.read": {**_AGENCY, EMPLOYER: OWN_EMPLOYER},
    "institutions.add": _AGENCY,
    "institutions.read": {**_AGENCY, INSTITUTION: OWN_INSTITUTION},
    "persons.add": _AGENCY,
    "persons.read": {**_AGENCY, PERSON: OWN},
    "persons.employment": {**_AGENCY, EMPLOYER: OWN_EMPLOYER},  # hire, register, leave
    "persons.enrol": _AGENCY,
    "persons.link": _AGENCY,
    "persons.merge": _AGENCY,
    # files of rows (月度申报, migrations): a clerk's rows all of its area, an employer's all
    # of its own employees
    "imports.employers": _AGENCY,
    "imports.persons": _AGENCY,
    "imports.employment": {**_AGENCY, EMPLOYER: OWN_EMPLOYER},
    "imports.contributions": {**_AGENCY, EMPLOYER: OWN_EMPLOYER},
    # contributions and crediting
    "contributions.pay": {**_AGENCY, EMPLOYER: OWN_EMPLOYER},
    "crediting.start": _AGENCY,
    "crediting.read": _AGENCY,
    # cards, the financial account, family aid
    "cards.issue": _AGENCY,
    "cards.activate": _AGENCY,
    "cards.activate_financial": {**_AGENCY, BANK: A},
    "cards.report_loss": {**_AGENCY, PERSON: OWN, BANK: A},
    "cards.replace": _AGENCY,
    "cards.change_pin": {**_AGENCY, PERSON: OWN, BANK: PRESENTED},
    "cards.reset_pin": _AGENCY,
    "cards.electronic": {ADMIN: A, PERSON: OWN},
    "financial.read": {ADMIN: A, PERSON: OWN, BANK: A},
    "financial.move": {ADMIN: A, BANK: A},  # deposits and withdrawals at the bank
    "family.bind": {**_AGENCY, PERSON: OWN},
    # POS and the institutions' settlement
    "pos.settle": {ADMIN: A, INSTITUTION: OWN_INSTITUTION},
    "pos.refund": {ADMIN: A, INSTITUTION: OWN_INSTITUTION},
    "institutions.statement": {**_AGENCY, INSTITUTION: OWN_INSTITUTION},
    "institutions.clear": _AGENCY,
    # questions about a person's accounts
    "persons.inquiry": {**_AGENCY, PERSON: OWN},
    "cards.inquiry": {ADMIN: A, BANK: PRESENTED, INSTITUTION: PRESENTED},
    "hotline.inquiry": {ADMIN: A, HOTLINE: PRESENTED},
    "persons.payment_records": {**_AGENCY, PERSON: OWN, EMPLOYER: OWN_EMPLOYER},
    "persons.transfers": {**_AGENCY, PERSON: OWN},
    "persons.statement": {**_AGENCY, PERSON: OWN},
    # oversight
    "ledger.check": {ADMIN: A, AUDITOR: A},
    "audit.read": {ADMIN: A, AUDITOR: A},
}


@dataclass(frozen=True, slots=True)
class Target:
    """What a request touches; the fields it does not name stay None."""

    person: str | None = None  # ID number
    other_person: str | None = None  # ID number of a second record it touches (a merge's)
    employer: str | None = None  # code
    institution: str | None = None  # code
    area: str | None = None  # code
    card: str | None = None  # card number
    areas: tuple[str | None, ...] = ()  # the areas a file's rows touch (None: not on file)


def authorize(*, uow: UnitOfWork, user: User, action: str, target: Target) -> Scope:
    """The scope the user acts under; Forbidden unless the target is inside it."""
    scope = RULES[action].get(user.role)
    if scope is None:
        raise Forbidden(f"the role {user.role} may not use {action}")
    if scope in (Scope.ALL, Scope.PRESENTED) or _inside(uow, user, scope, target):
        return scope
    raise Forbidden(f"{action}: outside what the {user.role} {user.name!r} may see")


def _inside(uow: UnitOfWork, user: User, scope: Scope, target: Target) -> bool:
    own = user.scope or ""
    if scope is Scope.PERSON:
        person = target.person or _card_holder(uow, target.card)
        return person is not None and person.strip().upper() == own
    if scope is Scope.INSTITUTION:
        return target.institution == own
    if scope is Scope.EMPLOYER:
        if target.employer is not None and target.employer != own:
            return False
        return target.person is None or _employed_by(uow, target.person, own)
    areas = _areas_of(uow, target)
    return bool(areas) and all(area == own for area in areas)


def _card_holder(uow: UnitOfWork, card_no: str | None) -> str | None:
    if card_no is None:
        return None
    return uow.session.scalar(
        select(Person.id_number)
        .join(Card, Card.person_id == Person.id)
        .where(Card.card_no == card_no)
    )


def _employed_by(uow: UnitOfWork, id_number: str, employer_code: str) -> bool:
    """The employer employs or employed the person (its declarations and payments for them)."""
    return bool(
        uow.session.scalar(
            select(
                exists()
                .where(Employment.employer_id == Employer.id, Employer.code == employer_code)
                .where(Employment.person_id == Person.id)
                .where(Person.id_number == id_number.strip().upper())
            )
        )
    )


def _areas_of(uow: UnitOfWork, target: Target) -> list[str | None]:
    """The planning area of each record the target names (None for one not on record)."""
    found: list[str | None] = []
    if target.area is not None:
        found.append(target.area)
    found.extend(target.areas)
    lookups = (
        (target.person, select(Person.area_code).where(Person.id_number == _upper(target.person))),
        (
            target.other_person,
            select(Person.area_code).where(Person.id_number == _upper(target.other_person)),
        ),
        (target.employer, select(Employer.area_code).where(Employer.code == target.employer)),
        (
            target.institution,
            select(Institution.area_code).where(Institution.code == target.institution),
        ),
        (
            target.card,
            select(Person.area_code)
            .join(Card, Card.person_id == Person.id)
            .where(Card.card_no == target.card),
        ),
    )
    for named, query in lookups:
        if named is not None:
            found.append(uow.session.scalar(query))
    return found


def _upper(text: str | None) -> str:
    return (text or "").strip().upper()
