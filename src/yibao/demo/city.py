"""Generate a synthetic planning area (a demo city), and carry it on for more months.

Small things (the area, employers, institutions) go through the registry services. Persons,
employment, enrolments, contributions and their ledger transfers are written in bulk (COPY on
PostgreSQL) in one transaction, in chunks, so memory stays flat at any size. Each contribution
carries the medical amounts and the credit that `record_contribution` would compute, and the
ledger transfer it would post; crediting is left to the caller (`credit_history`).

Ids are taken after each table's current maximum, with the tables locked against other writers
until the load commits; PostgreSQL's sequences are then moved past them.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass

from faker import Faker
from sqlalchemy import Engine, func, select

from yibao.adapters.bulk import BulkLoader
from yibao.adapters.tables import Contribution, Person
from yibao.demo.area import (
    DEFAULT_AREA,
    area_document,
    create_employers,
    create_institutions,
    district_regions,
)
from yibao.demo.loading import (
    BULK_TABLES,
    LedgerIds,
    PaymentTotals,
    Progress,
    Steps,
    write_months,
    write_people,
)
from yibao.demo.people import IdNumbers, Names, PersonFactory, Window, kinds_in_range
from yibao.demo.pricing import Pricer
from yibao.domain.errors import Conflict, InvalidInput
from yibao.domain.months import Month
from yibao.ledger import accounts, partitions
from yibao.services.contributions import closed_through
from yibao.services.registry import load_area, policy_schedule
from yibao.services.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class CitySummary:
    area_code: str
    start: Month
    months: int
    persons: int
    persons_by_kind: tuple[tuple[str, int], ...]  # employee, flexible/basic, ..., resident
    employers: int
    institutions: int
    late_registrations: int  # registered more than 30 days after hiring
    not_registered: int  # hired, not registered by the end of the window
    leavers: int
    payments: PaymentTotals
    seconds: float


def generate_city(
    *,
    engine: Engine,
    persons: int,
    start: Month,
    months: int,
    seed: int = 1,
    area_code: str = DEFAULT_AREA,
    progress: Progress | None = None,
) -> CitySummary:
    """A new planning area with `persons` insured and the payments of `months` months."""
    if persons < 1 or months < 1:
        raise InvalidInput("persons/months", (persons, months), "must both be at least 1")
    began = time.perf_counter()
    with UnitOfWork(engine) as uow:
        schedule = load_area(uow=uow, document=area_document(area_code))
        existing = count_persons(uow=uow, area_code=area_code)
        if existing:
            raise Conflict(
                f"area {area_code} already holds {existing} persons; generate a demo city "
                "into a new area or a fresh database"
            )
        _refuse_closed_months(uow, area_code, start)
        ledger = _ledger_ids(uow, area_code)
        taken = frozenset(
            uow.session.scalars(
                select(Person.id_number).where(Person.id_number.like(f"{area_code[:4]}%"))
            )
        )
    rng, fake = random.Random(seed), Faker("zh_CN")
    fake.seed_instance(seed)

    def uow_factory() -> UnitOfWork:
        return UnitOfWork(engine)

    employees = sum(1 for kind, _ in kinds_in_range(0, persons) if kind == "employee")
    employers = create_employers(
        uow_factory=uow_factory,
        area_code=area_code,
        employees=employees,
        before=start.first_day,
        rng=rng,
        fake=fake,
    )
    institutions = create_institutions(
        uow_factory=uow_factory, area_code=area_code, persons=persons, rng=rng, fake=fake
    )
    regions, weights = district_regions(area_code)
    factory = PersonFactory(
        rng=rng,
        ids=IdNumbers(regions, taken),
        names=Names(fake),
        region_weights=weights,
        employers=employers,
        window=Window(start.first_day, start.plus(months - 1).last_day),
    )
    steps = Steps(persons * (1 + months), progress)
    _prepare_partitions(engine, start, months)
    with engine.connect() as connection, connection.begin():
        loader = BulkLoader(connection)
        loader.lock(BULK_TABLES)
        people = write_people(
            loader, factory, area_code=area_code, persons=persons, rng=rng, steps=steps
        )
        loader.analyze(("person", "employment", "enrollment"))
        payments = write_months(
            connection,
            loader,
            area_code=area_code,
            ledger=ledger,
            pricer=Pricer(schedule),
            start=start,
            first=start,
            months=months,
            seed=seed,
            steps=steps,
            persons=persons,
        )
        loader.advance_sequences(BULK_TABLES)
        loader.analyze(("contribution", "ledger_transfer"))
    return CitySummary(
        area_code=area_code,
        start=start,
        months=months,
        persons=persons,
        persons_by_kind=tuple(sorted(people.by_kind.items())),
        employers=len(employers),
        institutions=institutions,
        late_registrations=people.late_registrations,
        not_registered=people.not_registered,
        leavers=people.leavers,
        payments=payments,
        seconds=time.perf_counter() - began,
    )


def extend_city(
    *,
    engine: Engine,
    area_code: str = DEFAULT_AREA,
    months: int = 1,
    seed: int = 1,
    progress: Progress | None = None,
) -> tuple[Month, PaymentTotals]:
    """Add the payments of the next `months` months to a demo city; returns the first month.

    The payment habits are read off the registry, so the city carries on as if it had been
    generated with more months (use the same seed).
    """
    with UnitOfWork(engine) as uow:
        span = city_span(uow=uow, area_code=area_code)
        if span is None:
            raise Conflict(f"area {area_code} has no contributions to carry on from")
        persons = count_persons(uow=uow, area_code=area_code)
        first = span[1].plus(1)
        _refuse_closed_months(uow, area_code, first)
        ledger = _ledger_ids(uow, area_code)
        schedule = policy_schedule(uow=uow, area_code=area_code)
    steps = Steps(persons * months, progress)
    _prepare_partitions(engine, first, months)
    with engine.connect() as connection, connection.begin():
        loader = BulkLoader(connection)
        loader.lock(BULK_TABLES)
        payments = write_months(
            connection,
            loader,
            area_code=area_code,
            ledger=ledger,
            pricer=Pricer(schedule),
            start=span[0],
            first=first,
            months=months,
            seed=seed,
            steps=steps,
            persons=persons,
        )
        loader.advance_sequences(BULK_TABLES)
        loader.analyze(("contribution", "ledger_transfer"))
    return first, payments


def _prepare_partitions(engine: Engine, first: Month, months: int) -> None:
    """The ledger's partitions of the months about to be written (PostgreSQL), made first."""
    with engine.begin() as connection:
        partitions.prepare_months(connection, [first.plus(i) for i in range(months)])


def count_persons(*, uow: UnitOfWork, area_code: str) -> int:
    query = select(func.count()).select_from(Person).where(Person.area_code == area_code)
    return int(uow.session.scalar(query) or 0)


def city_span(*, uow: UnitOfWork, area_code: str) -> tuple[Month, Month] | None:
    """The first and the last month in which the area received contributions."""
    low, high = uow.session.execute(
        select(func.min(Contribution.received_on), func.max(Contribution.received_on)).where(
            Contribution.area_code == area_code
        )
    ).one()
    if low is None:
        return None
    return Month.of(_as_date(low)), Month.of(_as_date(high))


def _as_date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _refuse_closed_months(uow: UnitOfWork, area_code: str, first: Month) -> None:
    """Payments received on or before a crediting run's day would be refused on receipt."""
    closed = closed_through(uow, area_code)
    if closed is not None and closed >= first.first_day:
        raise Conflict(
            f"crediting for area {area_code} has run (or is running) for the days up to "
            f"{closed}; payments received from {first} on would be refused"
        )


def _ledger_ids(uow: UnitOfWork, area_code: str) -> LedgerIds:
    return LedgerIds(
        book=accounts.medical_book(area_code),
        income_id=uow.ledger.account_id(accounts.contribution_income(area_code)),
        pooled_fund_id=uow.ledger.account_id(accounts.pooled_fund(area_code)),
    )
