"""Registry use cases: areas and policies, employers, institutions, persons, employment, schemes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ScalarSelect,
    Select,
    Table,
    bindparam,
    func,
    or_,
    select,
    update,
)

from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import (
    Area,
    AreaPolicy,
    CreditingRun,
    Employer,
    Employment,
    Enrollment,
    FamilyBinding,
    Institution,
    Person,
)
from yibao.domain.errors import (
    Conflict,
    InvalidInput,
    UnknownArea,
    UnknownEmployer,
    UnknownInstitution,
    UnknownPerson,
)
from yibao.domain.idnumber import IdNumber
from yibao.domain.months import Month
from yibao.domain.policy import PolicySchedule, area_code_of, policy_from_dict, schedule_from_list
from yibao.domain.pooled import parse_level
from yibao.domain.schemes import Scheme
from yibao.services.registry import fields
from yibao.services.uow import UnitOfWork

INSTITUTION_KINDS = ("pharmacy", "hospital", "clinic")
_RELATION = FamilyBinding.relation


@dataclass(frozen=True, slots=True)
class SchemeOnDay:
    scheme: Scheme
    tier: str | None
    employer_id: int | None
    starts_on: dt.date


# -- areas and policies --------------------------------------------------------------------
def load_area(*, uow: UnitOfWork, document: Mapping[str, Any]) -> PolicySchedule:
    """Create or extend an area from an `area` block (docs/scenarios.md); returns its schedule."""
    code, name = check_area(document)
    area = uow.session.get(Area, code)
    if area is None:
        uow.session.add(Area(code=code, name=name))
    else:
        area.name = name
    uow.session.flush()
    lock_area(uow, code, exclusive=True)  # a crediting run cannot start while policies change
    last_credited = _last_credited_month(uow, code)
    for raw in document["policies"]:
        month = str(Month.parse(raw["from"]))
        text = json.dumps(raw, sort_keys=True, default=str)
        existing = uow.session.scalars(
            select(AreaPolicy).where(
                AreaPolicy.area_code == code, AreaPolicy.effective_from == month
            )
        ).one_or_none()
        if existing is None:
            _refuse_credited_month(code, month, last_credited)
            uow.session.add(AreaPolicy(area_code=code, effective_from=month, document=text))
        elif policy_from_dict(json.loads(existing.document)) != policy_from_dict(raw):
            raise Conflict(
                f"area {code} already has a different policy from {month}; policies are "
                "effective-dated: load the change with a new `from` month"
            )
    uow.session.flush()
    return policy_schedule(uow=uow, area_code=code)


def _last_credited_month(uow: UnitOfWork, area_code: str) -> str | None:
    """The last month a crediting run of the area has covered (it started or ran)."""
    return uow.session.scalar(
        select(func.max(CreditingRun.month)).where(CreditingRun.area_code == area_code)
    )


def _refuse_credited_month(area_code: str, month: str, last_credited: str | None) -> None:
    """A new policy may not start in a month already credited under the policy before it.

    The crediting run and the explainer both read the policy of a month: changing it after
    the run would make the explainer contradict what the ledger holds.
    """
    if last_credited is not None and month <= last_credited:
        raise Conflict(
            f"area {area_code}: a new policy from {month} cannot be loaded, crediting has run "
            f"(or is running) for the months up to {last_credited}; give it a `from` month "
            f"after {last_credited}"
        )


def check_area(document: object) -> tuple[str, str]:
    """The code and name of an area block, once every part of it is valid (nothing written)."""
    code = area_code_of(document)
    assert isinstance(document, Mapping)
    name = fields.text(document.get("name"), field="area.name", column=Area.name)
    schedule = schedule_from_list(document.get("policies") or [])
    for policy in schedule.policies:
        for tier in policy.flexible_tiers:
            fields.code(tier.code, field="area.flexible.tiers.code", column=Enrollment.tier)
        for relation in policy.family_relations:
            fields.text(relation, field="area.family_aid.relations", column=_RELATION)
    return code, name


def lock_area(uow: UnitOfWork, area_code: str, *, exclusive: bool) -> None:
    """Serialize with other work on the area (a crediting run starting, a payment recorded).

    PostgreSQL locks the area's row; SQLite's writers are serialized already (BEGIN IMMEDIATE).
    """
    uow.session.execute(
        select(Area.code).where(Area.code == area_code).with_for_update(read=not exclusive)
    )


def policy_schedule(*, uow: UnitOfWork, area_code: str) -> PolicySchedule:
    docs = uow.session.scalars(
        select(AreaPolicy.document)
        .where(AreaPolicy.area_code == area_code)
        .order_by(AreaPolicy.effective_from)
    ).all()
    if not docs:
        raise UnknownArea(f"no planning area {area_code!r} is loaded; run `yibao area load FILE`")
    return _schedule_of(tuple(docs))


_POLICIES = cast(Table, AreaPolicy.__table__)
_POLICY_DOCUMENTS = HotStatement(  # Core columns: a HotStatement runs no ORM query
    select(_POLICIES.c.document)
    .where(_POLICIES.c.area_code == bindparam("area_code"))
    .order_by(_POLICIES.c.effective_from)
)


def policy_schedule_hot(*, uow: UnitOfWork, area_code: str) -> PolicySchedule:
    """`policy_schedule` read on `uow.hot`: inside a POS path's own short transaction.

    It does not flush the session first: for paths that write no policy before reading it.
    """
    docs = _POLICY_DOCUMENTS.rows(uow.hot, {"area_code": area_code})
    if not docs:
        raise UnknownArea(f"no planning area {area_code!r} is loaded; run `yibao area load FILE`")
    return _schedule_of(tuple(row[0] for row in docs))


@lru_cache(maxsize=256)
def _schedule_of(documents: tuple[str, ...]) -> PolicySchedule:
    """Parsing is pure, so the same stored documents always give the same schedule."""
    return schedule_from_list([json.loads(d) for d in documents])


def require_area(*, uow: UnitOfWork, area_code: str) -> Area:
    area = uow.session.get(Area, area_code)
    if area is None:
        raise UnknownArea(f"no planning area {area_code!r} is loaded; run `yibao area load FILE`")
    return area


def area_codes(*, uow: UnitOfWork, only: str | None = None) -> list[str]:
    """The areas a batch command works through: `only`, if it is loaded, else every area."""
    if only is not None:
        return [require_area(uow=uow, area_code=only).code]
    return list(uow.session.scalars(select(Area.code).order_by(Area.code)))


# -- employers and institutions ------------------------------------------------------------
def add_employer(*, uow: UnitOfWork, code: str, name: str, area_code: str) -> Employer:
    code = fields.code(code, field="code", column=Employer.code)
    name = fields.text(name, field="name", column=Employer.name)
    require_area(uow=uow, area_code=area_code)
    existing = uow.session.scalars(select(Employer).where(Employer.code == code)).one_or_none()
    if existing is not None:
        _same_as_recorded(f"employer {code}", existing, name=name, area_code=area_code)
        return existing
    employer = Employer(code=code, name=name, area_code=area_code)
    uow.session.add(employer)
    uow.session.flush()
    return employer


def register_employer(*, uow: UnitOfWork, code: str, on: dt.date) -> Employer:
    """The employer registers with the agency (art. 57: within 30 days of establishment)."""
    employer = employer_by_code(uow=uow, code=code)
    if employer.registered_on is None or employer.registered_on > on:
        employer.registered_on = on
    uow.session.flush()
    return employer


def employer_by_code(*, uow: UnitOfWork, code: str) -> Employer:
    employer = uow.session.scalars(select(Employer).where(Employer.code == code)).one_or_none()
    if employer is None:
        raise UnknownEmployer(f"no employer with code {code!r}")
    return employer


def add_institution(
    *, uow: UnitOfWork, code: str, name: str, kind: str, area_code: str, level: object = 1
) -> Institution:
    """A designated institution of a kind and grade (level 1, 2 or 3: the fund's ratio)."""
    code = fields.code(code, field="code", column=Institution.code)
    grade = parse_level(level)
    name = fields.text(name, field="name", column=Institution.name)
    require_area(uow=uow, area_code=area_code)
    if kind not in INSTITUTION_KINDS:
        raise InvalidInput("kind", kind, f"is not one of {', '.join(INSTITUTION_KINDS)}")
    existing = uow.session.scalars(
        select(Institution).where(Institution.code == code)
    ).one_or_none()
    if existing is not None:
        _same_as_recorded(
            f"institution {code}", existing, name=name, kind=kind, area_code=area_code, level=grade
        )
        return existing
    institution = Institution(code=code, name=name, kind=kind, area_code=area_code, level=grade)
    uow.session.add(institution)
    uow.session.flush()
    return institution


def institution_by_code(*, uow: UnitOfWork, code: str) -> Institution:
    found = uow.session.scalars(select(Institution).where(Institution.code == code)).one_or_none()
    if found is None:
        raise UnknownInstitution(f"no designated institution with code {code!r}")
    return found


def _same_as_recorded(what: str, existing: object, **given: object) -> None:
    """Adding what is recorded again is a no-op (retries are safe); adding it with other data
    would silently keep the old, so it is a conflict naming the first field that differs."""
    for field, value in given.items():
        recorded = getattr(existing, field)
        if recorded != value:
            raise Conflict(
                f"{what} is already recorded with {field} {recorded!r}, not {value!r}; "
                "nothing was changed"
            )


# -- persons -------------------------------------------------------------------------------
def add_person(*, uow: UnitOfWork, id_number: str, name: str, area_code: str) -> Person:
    """Record an insured person; the ID number is the social security number (art. 58)."""
    number = IdNumber.parse(id_number)
    name = fields.text(name, field="name", column=Person.name)
    require_area(uow=uow, area_code=area_code)
    existing = uow.session.scalars(
        select(Person).where(Person.id_number == number.value)
    ).one_or_none()
    if existing is not None:
        _same_as_recorded(f"person {number.masked}", existing, name=name, area_code=area_code)
        return existing
    person = Person(
        id_number=number.value,
        name=name,
        birth_date=number.birth_date,
        sex=number.sex,
        area_code=area_code,
    )
    uow.session.add(person)
    uow.session.flush()
    return person


def person_by_id_number(*, uow: UnitOfWork, id_number: str) -> Person:
    number = IdNumber.parse(id_number)
    person = uow.session.scalars(
        select(Person).where(Person.id_number == number.value)
    ).one_or_none()
    if person is None:
        raise UnknownPerson(f"no insured person with ID number {number.masked}")
    return person


@dataclass(frozen=True, slots=True)
class PersonOnRecord:
    """A person as a path that writes nothing of them needs them (an inquiry; a sale's patient
    and the family member whose account pays): read by one Core statement, not loaded as an
    ORM object (an inquiry's person cost it a quarter of its CPU that way)."""

    id: int
    id_number: str
    area_code: str


_PEOPLE = cast(Table, Person.__table__)
_PERSON_ON_RECORD = HotStatement(
    select(_PEOPLE.c.id, _PEOPLE.c.id_number, _PEOPLE.c.area_code).where(
        _PEOPLE.c.id_number == bindparam("id_number")
    )
)


def person_on_record(*, uow: UnitOfWork, id_number: str) -> PersonOnRecord:
    """As `person_by_id_number`, for a path that reads and writes nothing of the person."""
    number = IdNumber.parse(id_number)
    row = _PERSON_ON_RECORD.one_or_none(uow.hot, {"id_number": number.value})
    if row is None:
        raise UnknownPerson(f"no insured person with ID number {number.masked}")
    return PersonOnRecord(int(row[0]), str(row[1]), str(row[2]))


def person_by_key(*, uow: UnitOfWork, person_id: int) -> Person:
    """The person behind an internal id (from a card, a settlement, a binding)."""
    person = uow.session.get(Person, person_id)
    if person is None:
        raise UnknownPerson(f"no insured person with internal id {person_id}")
    return person


# -- employment and schemes ----------------------------------------------------------------
def hire(*, uow: UnitOfWork, id_number: str, employer_code: str, on: dt.date) -> Employment:
    person = person_by_id_number(uow=uow, id_number=id_number)
    employer = employer_by_code(uow=uow, code=employer_code)
    _require_same_area(person, employer)
    open_job = _open_employment(uow, person.id, employer.id)
    if open_job is not None:
        return open_job
    job = Employment(person_id=person.id, employer_id=employer.id, hired_on=on)
    uow.session.add(job)
    uow.session.flush()
    return job


def register_employee(
    *, uow: UnitOfWork, id_number: str, employer_code: str, on: dt.date, pooled_only: bool = False
) -> Employment:
    """The employer registers the person (art. 58: within 30 days of hiring); the employee
    scheme starts through that employer."""
    person = person_by_id_number(uow=uow, id_number=id_number)
    employer = employer_by_code(uow=uow, code=employer_code)
    _require_same_area(person, employer)
    job = _open_employment(uow, person.id, employer.id)
    if job is None:  # registration without a recorded hire: the hire is that day
        job = Employment(person_id=person.id, employer_id=employer.id, hired_on=on)
        uow.session.add(job)
    if job.registered_on is None:
        job.registered_on = on
    uow.session.flush()
    scheme = Scheme.POOLED_ONLY if pooled_only else Scheme.EMPLOYEE
    _start_scheme(uow, person, scheme, None, employer.id, on)
    return job


def leave(*, uow: UnitOfWork, id_number: str, employer_code: str, on: dt.date) -> None:
    """Employment ends, and with it the employee scheme through that employer."""
    person = person_by_id_number(uow=uow, id_number=id_number)
    employer = employer_by_code(uow=uow, code=employer_code)
    job = _open_employment(uow, person.id, employer.id)
    if job is None:
        raise Conflict(f"{person_label(person)} is not employed by {employer_code} on {on}")
    job.left_on = on
    uow.session.execute(
        update(Enrollment)
        .where(
            Enrollment.person_id == person.id,
            Enrollment.employer_id == employer.id,
            Enrollment.ends_on.is_(None),
        )
        .values(ends_on=on)
    )
    uow.session.flush()


def enroll(
    *, uow: UnitOfWork, id_number: str, scheme: str, on: dt.date, tier: str | None = None
) -> None:
    """The person's own scheme changes from `on` (flexible with a tier, resident, retiree)."""
    person = person_by_id_number(uow=uow, id_number=id_number)
    try:
        chosen = Scheme(scheme)
    except ValueError:
        raise InvalidInput("scheme", scheme, "is not flexible, resident or retiree") from None
    if chosen in (Scheme.EMPLOYEE, Scheme.POOLED_ONLY):
        raise InvalidInput("scheme", scheme, "starts with `register_employee` by the employer")
    if chosen is Scheme.FLEXIBLE:
        if not tier:
            raise InvalidInput("tier", tier, "is required for the flexible scheme")
        policy_schedule(uow=uow, area_code=person.area_code).for_month(Month.of(on)).tier(tier)
    elif tier:
        raise InvalidInput("tier", tier, "applies to the flexible scheme only")
    _start_scheme(uow, person, chosen, tier, None, on)


_ENROLMENTS = cast(Table, Enrollment.__table__)
_SCHEME_DAY: BindParameter[dt.date] = bindparam("day")


def _scheme_on_query(*columns: Any, person_id: Any, day: Any) -> Select[Any]:
    """The person's enrolment in force on the day: the latest to start, by then."""
    e = _ENROLMENTS.c
    return (
        select(*columns)
        .where(
            e.person_id == person_id,
            e.starts_on <= day,
            or_(e.ends_on.is_(None), e.ends_on > day),
        )
        .order_by(e.starts_on.desc(), e.id.desc())
        .limit(1)
    )


def scheme_on_column(*, person_id: Any, day: Any) -> ScalarSelect[Any]:
    """`scheme_on` as a column of a query over many persons and days (a period's bills)."""
    return _scheme_on_query(_ENROLMENTS.c.scheme, person_id=person_id, day=day).scalar_subquery()


_SCHEME_ON = HotStatement(
    _scheme_on_query(
        _ENROLMENTS.c.scheme,
        _ENROLMENTS.c.tier,
        _ENROLMENTS.c.employer_id,
        _ENROLMENTS.c.starts_on,
        person_id=bindparam("person_id"),
        day=_SCHEME_DAY,
    )
)


def scheme_on(*, uow: UnitOfWork, person_id: int, day: dt.date) -> SchemeOnDay | None:
    """The scheme a person was in on `day`, if any."""
    row = uow.session.scalars(_scheme_on_query(Enrollment, person_id=person_id, day=day)).first()
    if row is None:
        return None
    return SchemeOnDay(Scheme(row.scheme), row.tier, row.employer_id, row.starts_on)


def scheme_on_hot(*, uow: UnitOfWork, person_id: int, day: dt.date) -> SchemeOnDay | None:
    """`scheme_on` read on `uow.hot`, for a path that wrote no enrolment before (an inquiry)."""
    row = _SCHEME_ON.one_or_none(uow.hot, {"person_id": person_id, "day": day})
    if row is None:
        return None
    scheme, tier, employer_id, starts_on = row
    return SchemeOnDay(Scheme(scheme), tier, employer_id, starts_on)


def _start_scheme(
    uow: UnitOfWork,
    person: Person,
    scheme: Scheme,
    tier: str | None,
    employer_id: int | None,
    on: dt.date,
) -> None:
    current = scheme_on(uow=uow, person_id=person.id, day=on)
    if current is not None and (current.scheme, current.tier, current.employer_id) == (
        scheme,
        tier,
        employer_id,
    ):
        return  # already so: a retry changes nothing
    uow.session.execute(
        update(Enrollment)
        .where(Enrollment.person_id == person.id, Enrollment.ends_on.is_(None))
        .values(ends_on=on)
    )
    uow.session.add(
        Enrollment(
            person_id=person.id,
            area_code=person.area_code,
            scheme=str(scheme),
            tier=tier,
            employer_id=employer_id,
            starts_on=on,
        )
    )
    uow.session.flush()


def _open_employment(uow: UnitOfWork, person_id: int, employer_id: int) -> Employment | None:
    return uow.session.scalars(
        select(Employment).where(
            Employment.person_id == person_id,
            Employment.employer_id == employer_id,
            Employment.left_on.is_(None),
        )
    ).first()


def _require_same_area(person: Person, employer: Employer) -> None:
    """An employee is insured where they are on record: an employer of another planning area
    cannot register them (that is a transfer of their records between areas)."""
    if employer.area_code != person.area_code:
        raise InvalidInput(
            "employer",
            employer.code,
            f"is in planning area {employer.area_code}, {person_label(person)} "
            f"in {person.area_code}",
        )


def person_label(person: Person) -> str:
    return f"{person.name} ({IdNumber(person.id_number).masked})"
