"""Contributions: a payment for one person and month, per insurance type, by employer or person."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, select

from yibao.adapters.tables import Contribution, CreditingRun, Person
from yibao.domain.crediting import price_payment
from yibao.domain.errors import Conflict, InvalidInput, NotEnrolled
from yibao.domain.months import Month
from yibao.domain.schemes import INSURANCE_TYPES, Scheme
from yibao.ledger import accounts
from yibao.ledger.kinds import TransferKind
from yibao.services.registry import (
    SchemeOnDay,
    fields,
    lock_area,
    person_by_id_number,
    person_label,
    policy_schedule,
    scheme_on,
)
from yibao.services.uow import UnitOfWork


class AlreadyPaid(Conflict):
    """The payment repeats an insurance already paid for the same person and month."""

    code = "already_paid"


@dataclass(frozen=True, slots=True)
class ContributionCmd:
    id_number: str
    received_on: dt.date
    insurances: tuple[str, ...]
    month: Month | None = None  # monthly schemes
    year: int | None = None  # residents pay for a calendar year
    base_fen: int | None = None
    key: str | None = None  # the payer's reference; a retry with the same key records nothing new


@dataclass(frozen=True, slots=True)
class ContributionReceipt:
    contribution_id: int
    scheme: Scheme
    month: str
    through_month: str
    base_fen: int | None
    medical_employer_fen: int
    medical_person_fen: int
    credit_fen: int


def normalize_insurances(raw: Iterable[str]) -> tuple[str, ...]:
    chosen = set()
    for name in raw:
        if name not in INSURANCE_TYPES:
            raise InvalidInput("insurances", name, f"is not one of {', '.join(INSURANCE_TYPES)}")
        chosen.add(name)
    if not chosen:
        raise InvalidInput("insurances", list(raw), "must list at least one insurance type")
    return tuple(sorted(chosen))


def record_contribution(*, uow: UnitOfWork, cmd: ContributionCmd) -> ContributionReceipt:
    """Record a payment; its medical amounts and the credit it will earn are computed from the
    policy of the month paid for (back pay is credited under its own month's policy)."""
    if cmd.key is not None:  # without ':' it never equals a key made up below
        fields.ref(cmd.key, column=Contribution.key)
    if cmd.year is not None and not 1900 <= cmd.year <= 9999:  # months are stored as YYYY-MM
        raise InvalidInput("year", cmd.year, "is not a year from 1900 to 9999")
    person = person_by_id_number(uow=uow, id_number=cmd.id_number)
    insurances = normalize_insurances(cmd.insurances)
    scheme = require_scheme(
        person_label(person), scheme_on(uow=uow, person_id=person.id, day=cmd.received_on), cmd
    )
    refuse_closed_period(uow, person.area_code, cmd.received_on)
    first, last = months_paid(scheme.scheme, cmd)
    policy = policy_schedule(uow=uow, area_code=person.area_code).for_month(first)
    priced = price_payment(
        policy=policy,
        month=first,
        scheme=scheme.scheme,
        tier=scheme.tier,
        base_fen=cmd.base_fen or 0,
        insurances=insurances,
        birth_date=person.birth_date,
    )
    key = cmd.key or f"{person.id}:{first}:{cmd.received_on}:{','.join(insurances)}"
    values = dict(
        person_id=person.id,
        area_code=person.area_code,
        month=str(first),
        through_month=str(last),
        received_on=cmd.received_on,
        scheme=str(scheme.scheme),
        tier=scheme.tier,
        employer_id=scheme.employer_id,
        base_fen=priced.base_fen,
        insurances=",".join(insurances),
        medical_employer_fen=priced.medical_employer_fen,
        medical_person_fen=priced.medical_person_fen,
        credit_fen=priced.credit_fen,
    )
    _lock_person(uow, person.id)
    existing = uow.session.scalars(
        select(Contribution).where(Contribution.key == key)
    ).one_or_none()
    if existing is not None:
        if any(getattr(existing, k) != v for k, v in values.items()):
            raise Conflict(f"payment reference {key!r} was recorded with other content")
        return _receipt(existing)
    _refuse_repeated_insurances(uow, person, insurances, first, last)
    row = Contribution(key=key, **values)
    uow.session.add(row)
    uow.session.flush()
    medical_fen = priced.medical_employer_fen + priced.medical_person_fen
    if medical_fen > 0:
        uow.ledger.transfer(
            key=f"contribution:{row.id}",
            debit=accounts.contribution_income(person.area_code),
            credit=accounts.pooled_fund(person.area_code),
            amount_fen=medical_fen,
            value_date=cmd.received_on,
            kind=TransferKind.CONTRIBUTION,
            memo=f"medical {first}",
        )
    return _receipt(row)


def require_scheme(label: str, scheme: SchemeOnDay | None, cmd: ContributionCmd) -> SchemeOnDay:
    """A payment is recorded for a person in a scheme on the day it is received."""
    if scheme is None:
        raise NotEnrolled(
            f"{label} has no insurance scheme on {cmd.received_on}: "
            "register the employee or enrol the person first"
        )
    return scheme


def months_paid(scheme: Scheme, cmd: ContributionCmd) -> tuple[Month, Month]:
    """The first and last month a payment covers; its base is required outside the resident
    scheme (residents pay a flat amount for a calendar year)."""
    if scheme is not Scheme.RESIDENT and (cmd.base_fen is None or cmd.base_fen <= 0):
        raise InvalidInput("base", cmd.base_fen, "is required: the monthly wage base in yuan")
    if scheme is Scheme.RESIDENT:
        if cmd.year is None:
            raise InvalidInput("year", None, "is required: residents pay for a calendar year")
        return Month(cmd.year, 1), Month(cmd.year, 12)
    if cmd.month is None:
        raise InvalidInput("month", None, "is required: the month paid for, as YYYY-MM")
    return cmd.month, cmd.month


def closed_through(uow: UnitOfWork, area_code: str) -> dt.date | None:
    """The last day whose payments a crediting run of the area has read (it started or ran).

    A run credits what was received up to its day, read once when it starts: a payment recorded
    for those days afterwards would never be credited. The area's row is share-locked until the
    caller's payments commit, and a run locks it to start, so the two cannot cross.
    """
    lock_area(uow, area_code, exclusive=False)
    return uow.session.scalar(  # max() of a DATE column is a date on both backends
        select(func.max(CreditingRun.run_date)).where(CreditingRun.area_code == area_code)
    )


def refuse_closed_period(uow: UnitOfWork, area_code: str, received_on: dt.date) -> None:
    """A payment cannot be received on a day whose month-end crediting has started or ran."""
    refuse_closed(area_code, closed_through(uow, area_code), received_on)


def refuse_closed(area_code: str, closed: dt.date | None, received_on: dt.date) -> None:
    """`refuse_closed_period` once the area's closed day is known (many payments of one area)."""
    if closed is not None and received_on <= closed:
        raise Conflict(
            f"crediting for area {area_code} has run (or is running) for the days up to "
            f"{closed}; record the payment as received on a later day"
        )


def _lock_person(uow: UnitOfWork, person_id: int) -> None:
    """Serialize the payments of one person, so two cannot both pay the same month.

    PostgreSQL locks the person's row (after the area's, the order a crediting run takes);
    SQLite's writers are serialized already (BEGIN IMMEDIATE).
    """
    uow.session.execute(select(Person.id).where(Person.id == person_id).with_for_update())


def _refuse_repeated_insurances(
    uow: UnitOfWork, person: Person, insurances: tuple[str, ...], first: Month, last: Month
) -> None:
    """A month's insurance is paid once: refuse a payment repeating one for a covered month."""
    covering = uow.session.scalars(
        select(Contribution)
        .where(
            Contribution.person_id == person.id,
            Contribution.month <= str(last),
            Contribution.through_month >= str(first),
        )
        .order_by(Contribution.id)
    )
    refuse_repeated(person_label(person), insurances, covering)


class PaidBefore(Protocol):
    """A recorded payment as `refuse_repeated` reads it (a Contribution, or a row of one)."""

    id: int
    month: str
    through_month: str
    insurances: str
    received_on: dt.date


def refuse_repeated(label: str, insurances: Iterable[str], covering: Iterable[PaidBefore]) -> None:
    """Raise `AlreadyPaid` if a payment covering the same months paid one of `insurances`."""
    for paid in covering:
        repeated = sorted(set(insurances) & set(paid.insurances.split(",")))
        if repeated:
            months = f"{paid.month} to {paid.through_month}"
            if paid.month == paid.through_month:
                months = paid.month
            raise AlreadyPaid(
                f"{label} has {', '.join(repeated)} paid for {months} already "
                f"(contribution {paid.id}, received on {paid.received_on}); "
                "pay only the insurances not yet paid"
            )


def _receipt(row: Contribution) -> ContributionReceipt:
    return ContributionReceipt(
        contribution_id=row.id,
        scheme=Scheme(row.scheme),
        month=row.month,
        through_month=row.through_month,
        base_fen=row.base_fen,
        medical_employer_fen=row.medical_employer_fen,
        medical_person_fen=row.medical_person_fen,
        credit_fen=row.credit_fen,
    )
