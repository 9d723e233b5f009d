"""Yearly statements of personal accounts (Social Insurance Law art. 74: sent free of charge).

One path serves one person and a whole area: persons are taken in id batches, and each batch
is gathered set-based in one unit of work (the accounts, the balances before the year, the
year's postings and contributions), so memory stays flat and the queries do not grow with
the area. Rendering and writing happen after the batch's transaction has closed.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import ColumnElement, Subquery, and_, func, select, union_all

from yibao.adapters.tables import (
    Area,
    Contribution,
    Enrollment,
    LedgerAccount,
    LedgerTransfer,
    Person,
)
from yibao.domain.errors import InvalidInput
from yibao.domain.months import Month
from yibao.domain.schemes import Scheme
from yibao.domain.statement import (
    AccountMovement,
    ContributionPaid,
    YearStatement,
    check_year,
    year_statement_from,
)
from yibao.ledger import accounts
from yibao.services.inquiry.pooled_fund import fund_paid_by_patient
from yibao.services.registry import person_by_id_number, require_area
from yibao.services.uow import UnitOfWork

Progress = Callable[[int, int], None]
Render = Callable[[YearStatement], bytes]

A = LedgerAccount.__table__
T = LedgerTransfer.__table__
C = Contribution.__table__
P = Person.__table__


class _Holder(NamedTuple):
    id: int
    id_number: str
    name: str


def year_statement(
    *,
    uow: UnitOfWork,
    year: int,
    id_number: str | None = None,
    person: Person | None = None,
    issued_on: dt.date | None = None,
) -> YearStatement:
    """The statement of one person's personal account for `year`."""
    if (id_number is None) == (person is None):
        raise InvalidInput("person", None, "give either an ID number or a person")
    with uow.reading() as reads:
        if person is None:
            person = person_by_id_number(uow=reads, id_number=str(id_number))
        holder = _Holder(person.id, person.id_number, person.name)
        found = _gather(reads, person.area_code, [holder], check_year(year), issued_on)
    return found[0]


def statement_file_name(masked_id: str, year: int, taken: set[str] | None = None) -> str:
    """Named by the masked ID number and the year (`4201xxxxxxxxxx1232-2024.pdf`), never by
    the full number nor an internal id; two persons whose masked numbers agree get `-2`, `-3`
    in the order of their records, so a rerun names each file the same."""
    stem = f"{masked_id.replace('*', 'x')}-{year}"
    name, count = f"{stem}.pdf", 1
    while taken is not None and name in taken:
        count += 1
        name = f"{stem}-{count}.pdf"
    if taken is not None:
        taken.add(name)
    return name


def write_statements(
    *,
    uow_factory: Callable[[], UnitOfWork],
    area_code: str,
    year: int,
    out_dir: Path,
    progress: Progress | None = None,
    batch_size: int = 1_000,
    issued_on: dt.date | None = None,
    render: Render | None = None,
) -> int:
    """One PDF per person of the area into `out_dir`; returns how many were written."""
    check_year(year)
    if batch_size < 1:
        raise InvalidInput("batch_size", batch_size, "must be 1 or more")
    render = render or _default_render()
    with uow_factory() as uow:
        require_area(uow=uow, area_code=area_code)
        total = int(uow.session.scalar(select(func.count()).where(P.c.area_code == area_code)) or 0)
    out_dir.mkdir(parents=True, exist_ok=True)
    written, after = 0, 0
    taken: set[str] = set()
    while True:
        with uow_factory() as uow, uow.reading() as reads:
            holders = _persons_after(reads, area_code, after, batch_size)
            statements = _gather(reads, area_code, holders, year, issued_on)
        if not holders:
            break
        for statement in statements:
            name = statement_file_name(statement.masked_id, year, taken)
            _write_atomically(out_dir / name, render(statement))
        written += len(holders)
        after = holders[-1].id
        if progress is not None:
            progress(written, max(total, written))
    return written


def area_statements(
    *,
    uow_factory: Callable[[], UnitOfWork],
    area_code: str,
    year: int,
    batch_size: int = 1_000,
    issued_on: dt.date | None = None,
) -> Iterator[tuple[str, YearStatement]]:
    """Each person of the area with their statement for `year`, in batches of persons (one
    read transaction each), so an area of millions streams in bounded memory."""
    check_year(year)
    with uow_factory() as uow:
        require_area(uow=uow, area_code=area_code)
    after = 0
    while True:
        with uow_factory() as uow, uow.reading() as reads:
            holders = _persons_after(reads, area_code, after, batch_size)
            found = _gather(reads, area_code, holders, year, issued_on)
        if not holders:
            return
        yield from zip((h.id_number for h in holders), found, strict=True)
        after = holders[-1].id


def _default_render() -> Render:
    from yibao.adapters.pdf import render_statement  # ReportLab loads only when rendering

    return render_statement


def _persons_after(uow: UnitOfWork, area_code: str, after: int, limit: int) -> list[_Holder]:
    rows = uow.session.execute(
        select(P.c.id, P.c.id_number, P.c.name)
        .where(P.c.area_code == area_code, P.c.id > after)
        .order_by(P.c.id)
        .limit(limit)
    ).all()
    return [_Holder(int(r.id), str(r.id_number), str(r.name)) for r in rows]


def _write_atomically(path: Path, content: bytes) -> None:
    """A statement file is whole or absent, even if the run is killed while writing."""
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(content)
    os.replace(partial, path)


# -- gathering one batch ---------------------------------------------------------------------
def _gather(
    uow: UnitOfWork,
    area_code: str,
    holders: Sequence[_Holder],
    year: int,
    issued_on: dt.date | None,
) -> list[YearStatement]:
    """The statements of these persons of one area, in four set-based queries."""
    if not holders:
        return []
    area = uow.session.get(Area, area_code)
    low, high = min(h.id for h in holders), max(h.id for h in holders)
    account_of = _personal_accounts(uow, area_code, low, high)
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    opening = _balances_through(uow, area_code, low, high, first - dt.timedelta(days=1))
    movements = _movements(uow, area_code, low, high, first, last)
    paid = _contributions(uow, low, high, year)
    fund = fund_paid_by_patient(uow=uow, low=low, high=high, first=first, last=last)
    retired = _retiree_months(uow, low, high, year)
    return [
        year_statement_from(
            person_name=h.name,
            id_number=h.id_number,
            area_code=area_code,
            area_name=area.name if area is not None else "",
            year=year,
            issued_on=issued_on or dt.date.today(),
            opening_balance_fen=opening.get(account_of.get(h.id, -1), 0),
            movements=movements.get(account_of.get(h.id, -1), ()),
            contributions=paid.get(h.id, ()),
            has_personal_account=h.id in account_of,
            fund_paid_fen=fund.get(h.id, 0),
            retiree_months=retired.get(h.id, ()),
        )
        for h in holders
    ]


def _accounts_of_range(area_code: str, low: int, high: int) -> tuple[ColumnElement[bool], ...]:
    return (
        A.c.book == accounts.medical_book(area_code),
        A.c.kind == str(accounts.AccountKind.PERSONAL),
        A.c.owner_person_id.between(low, high),
    )


def _personal_accounts(uow: UnitOfWork, area_code: str, low: int, high: int) -> dict[int, int]:
    """Person id -> personal account id in the area's book."""
    rows = uow.session.execute(
        select(A.c.owner_person_id, A.c.id).where(*_accounts_of_range(area_code, low, high))
    ).all()
    return {int(person_id): int(account_id) for person_id, account_id in rows}


def _legs(area_code: str, low: int, high: int, *conditions: ColumnElement[bool]) -> Subquery:
    """Each posting on the range's personal accounts, signed from the account's side."""
    sides = [
        select(
            A.c.id.label("account_id"),
            T.c.id.label("transfer_id"),
            T.c.value_date,
            T.c.kind,
            amount.label("amount"),
        )
        .select_from(T.join(A, A.c.id == column))
        .where(*_accounts_of_range(area_code, low, high), *conditions)
        for column, amount in (
            (T.c.credit_account_id, T.c.amount_fen),
            (T.c.debit_account_id, -T.c.amount_fen),
        )
    ]
    return union_all(*sides).subquery()


def _balances_through(
    uow: UnitOfWork, area_code: str, low: int, high: int, day: dt.date
) -> dict[int, int]:
    legs = _legs(area_code, low, high, T.c.value_date <= day)
    rows = uow.session.execute(
        select(legs.c.account_id, func.sum(legs.c.amount)).group_by(legs.c.account_id)
    ).all()
    return {int(account_id): int(total) for account_id, total in rows}


def _movements(
    uow: UnitOfWork, area_code: str, low: int, high: int, first: dt.date, last: dt.date
) -> dict[int, list[AccountMovement]]:
    legs = _legs(area_code, low, high, and_(T.c.value_date >= first, T.c.value_date <= last))
    rows = uow.session.execute(
        select(legs.c.account_id, legs.c.value_date, legs.c.kind, legs.c.amount).order_by(
            legs.c.account_id, legs.c.value_date, legs.c.transfer_id
        )
    ).all()
    found: dict[int, list[AccountMovement]] = defaultdict(list)
    for account_id, value_date, kind, amount in rows:
        found[int(account_id)].append(AccountMovement(_as_date(value_date), str(kind), int(amount)))
    return found


def _contributions(
    uow: UnitOfWork, low: int, high: int, year: int
) -> dict[int, list[ContributionPaid]]:
    """Payments for months of `year` (or covering some), whenever they were received."""
    rows = uow.session.execute(
        select(C).where(
            C.c.person_id.between(low, high),
            C.c.through_month >= f"{year:04d}-01",
            C.c.month <= f"{year:04d}-12",
        )
    ).all()
    found: dict[int, list[ContributionPaid]] = defaultdict(list)
    for r in rows:
        found[int(r.person_id)].append(
            ContributionPaid(
                month=Month.parse(r.month),
                through_month=Month.parse(r.through_month),
                received_on=_as_date(r.received_on),
                insurances=tuple(i for i in str(r.insurances).split(",") if i),
                base_fen=None if r.base_fen is None else int(r.base_fen),
                medical_employer_fen=int(r.medical_employer_fen),
                medical_person_fen=int(r.medical_person_fen),
                credit_fen=int(r.credit_fen),
            )
        )
    return found


def _retiree_months(uow: UnitOfWork, low: int, high: int, year: int) -> dict[int, list[Month]]:
    """Per person, the months of `year` they were enrolled as a retiree (no contribution due)."""
    e = Enrollment
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    rows = uow.session.execute(
        select(e.person_id, e.starts_on, e.ends_on).where(
            e.person_id.between(low, high),
            e.scheme == str(Scheme.RETIREE),
            e.starts_on <= last,
            (e.ends_on.is_(None)) | (e.ends_on > first),
        )
    ).all()
    found: dict[int, list[Month]] = defaultdict(list)
    for person_id, starts_on, ends_on in rows:
        start, end = _as_date(starts_on), _as_date(ends_on) if ends_on else None
        for number in range(1, 13):
            month = Month(year, number)
            if start <= month.last_day and (end is None or end > month.first_day):
                found[int(person_id)].append(month)
    return found


def _as_date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
