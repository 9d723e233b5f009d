"""Crediting a demo city's history, and the figures that show what it holds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, literal, or_, select, union_all

from yibao.adapters.tables import Contribution, Enrollment, LedgerAccount, LedgerTransfer, Person
from yibao.domain.idnumber import mask
from yibao.domain.months import Month
from yibao.ledger import accounts
from yibao.ledger.kinds import CREDITS
from yibao.services.contributions.crediting import CreditingSummary, run_crediting
from yibao.services.uow import UnitOfWork

Progress = Callable[[int, int], None]
A = LedgerAccount.__table__
E = Enrollment.__table__
T = LedgerTransfer.__table__
CREDIT_KINDS = CREDITS


def credit_history(
    *,
    uow_factory: Callable[[], UnitOfWork],
    area_code: str,
    start: Month,
    months: int,
    progress: Progress | None = None,
) -> list[CreditingSummary]:
    """Run the month-end crediting of each month in order, as the agency would have.

    Runs are idempotent: a month already credited credits nothing new.
    """
    summaries = []
    for offset in range(months):
        summaries.append(
            run_crediting(uow_factory=uow_factory, area_code=area_code, month=start.plus(offset))
        )
        if progress is not None:
            progress(offset + 1, months)
    return summaries


@dataclass(frozen=True, slots=True)
class ExamplePerson:
    name: str
    masked_id: str
    scheme: str
    balance_fen: int


@dataclass(frozen=True, slots=True)
class CityOverview:
    area_code: str
    as_of: dt.date
    persons: int
    by_scheme: tuple[tuple[str, int], ...]  # scheme (and tier) on `as_of`; "none": not enrolled
    contributions: int
    credit_transfers: int
    credited_fen: int
    funded_accounts: int  # personal accounts holding more than zero
    examples: tuple[ExamplePerson, ...]


def city_overview(*, uow: UnitOfWork, area_code: str, as_of: dt.date) -> CityOverview:
    session, book = uow.session, accounts.medical_book(area_code)
    persons = int(
        session.scalar(
            select(func.count()).select_from(Person).where(Person.area_code == area_code)
        )
        or 0
    )
    open_on = (
        E.c.area_code == area_code,
        E.c.starts_on <= as_of,
        or_(E.c.ends_on.is_(None), E.c.ends_on > as_of),
    )
    rows = session.execute(
        select(
            E.c.scheme, E.c.tier, func.count(func.distinct(E.c.person_id)), func.min(E.c.person_id)
        )
        .where(*open_on)
        .group_by(E.c.scheme, E.c.tier)
        .order_by(E.c.scheme, E.c.tier)
    ).all()
    by_scheme = [(_label(scheme, tier), int(count)) for scheme, tier, count, _ in rows]
    enrolled = sum(count for _, count in by_scheme)
    if persons > enrolled:
        by_scheme.append(("none", persons - enrolled))
    contributions = int(
        session.scalar(
            select(func.count())
            .select_from(Contribution)
            .where(Contribution.area_code == area_code)
        )
        or 0
    )
    count, credited = session.execute(
        select(func.count(), func.coalesce(func.sum(T.c.amount_fen), 0)).where(
            T.c.book == book, T.c.kind.in_(CREDIT_KINDS)
        )
    ).one()
    examples = tuple(
        _example(uow, area_code, int(person_id), _label(scheme, tier))
        for scheme, tier, _, person_id in rows
    )
    return CityOverview(
        area_code,
        as_of,
        persons,
        tuple(by_scheme),
        contributions,
        int(count),
        int(credited),
        _funded_accounts(uow, book),
        examples,
    )


def _label(scheme: str, tier: str | None) -> str:
    return scheme if tier is None else f"{scheme}/{tier}"


def _example(uow: UnitOfWork, area_code: str, person_id: int, scheme: str) -> ExamplePerson:
    person = uow.session.get(Person, person_id)
    assert person is not None
    balance = uow.ledger.balance_of(accounts.personal_account(area_code, person_id))
    return ExamplePerson(person.name, mask(person.id_number), scheme, balance)


def _funded_accounts(uow: UnitOfWork, book: str) -> int:
    """How many personal accounts of the book hold more than zero (one pass over the book)."""
    legs = union_all(
        select(T.c.credit_account_id.label("account_id"), T.c.amount_fen.label("amount")).where(
            T.c.book == book
        ),
        select(T.c.debit_account_id.label("account_id"), (-T.c.amount_fen).label("amount")).where(
            T.c.book == book
        ),
    ).subquery()
    funded = (
        select(legs.c.account_id)
        .join(A, A.c.id == legs.c.account_id)
        .where(A.c.kind == str(accounts.AccountKind.PERSONAL))
        .group_by(legs.c.account_id)
        .having(func.sum(legs.c.amount) > literal(0))
        .subquery()
    )
    return int(uow.session.scalar(select(func.count()).select_from(funded)) or 0)
