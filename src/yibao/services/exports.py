"""`yibao export`: an area's payment records, ledger transfers and yearly statements as rows.

Each export is a header and a stream of rows: payments and transfers come from one read
transaction whose query is fetched in batches (a server-side cursor on PostgreSQL), statements
from the statement service's batches of persons; nothing is held whole, so an area of millions
exports in bounded memory. Money leaves as yuan strings ("12.30"), never as floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from yibao.adapters.tables import Contribution, Employer, LedgerAccount, LedgerTransfer, Person
from yibao.domain.errors import InvalidInput
from yibao.domain.money import fen_to_yuan
from yibao.domain.statement import check_year
from yibao.ledger import accounts
from yibao.services.inquiry.statements import area_statements
from yibao.services.registry import require_area
from yibao.services.uow import UnitOfWork

EXPORTS = ("payments", "transfers", "statements")
FETCH = 2_000  # rows per fetch from the database cursor

Cell = str | int | None


@dataclass(frozen=True, slots=True)
class Export:
    header: tuple[str, ...]
    rows: Iterator[tuple[Cell, ...]]


PAYMENT_COLUMNS = (
    "contribution_id",
    "id_number",
    "name",
    "employer",
    "month",
    "through_month",
    "received_on",
    "scheme",
    "tier",
    "base",
    "insurances",
    "medical_employer",
    "medical_person",
    "credit",
    "ref",
)
TRANSFER_COLUMNS = (
    "transfer_id",
    "value_date",
    "kind",
    "debit",
    "credit",
    "amount",
    "reverses",
    "key",
    "memo",
)
STATEMENT_COLUMNS = (
    "id_number",
    "name",
    "year",
    "personal_account",
    "opening",
    "credited",
    "spent",
    "family_aid",
    "refunds",
    "other",
    "closing",
    "medical_employer",
    "medical_person",
    "fund_paid",
)


def export(
    *,
    uow_factory: Callable[[], UnitOfWork],
    what: str,
    area_code: str,
    year: int | None,
) -> Export:
    """The rows of one export of one area (`year`: only that calendar year; statements
    without a year are those of the last whole year)."""
    if what not in EXPORTS:
        raise InvalidInput("what", what, f"is not one of {', '.join(EXPORTS)}")
    if year is not None:
        check_year(year)
    with uow_factory() as uow:
        require_area(uow=uow, area_code=area_code)
        today = uow.today()
    if what == "statements":
        year = year if year is not None else today.year - 1
        return Export(STATEMENT_COLUMNS, _statements(uow_factory, area_code, year))
    query = _payments(area_code, year) if what == "payments" else _transfers(area_code, year)
    header = PAYMENT_COLUMNS if what == "payments" else TRANSFER_COLUMNS
    money = _money_at(header)
    return Export(header, _streamed(uow_factory, query, money))


def _money_at(header: tuple[str, ...]) -> frozenset[int]:
    """The columns holding fen, to leave as yuan ("credit" of a transfer is an account)."""
    names = {"amount"} if header is TRANSFER_COLUMNS else PAYMENT_MONEY
    return frozenset(i for i, name in enumerate(header) if name in names)


PAYMENT_MONEY = frozenset({"base", "medical_employer", "medical_person", "credit"})


def _streamed(
    uow_factory: Callable[[], UnitOfWork], query: Select[Any], money: frozenset[int]
) -> Iterator[tuple[Cell, ...]]:
    with uow_factory() as uow, uow.reading() as reads:
        result = reads.session.execute(query, execution_options={"yield_per": FETCH})
        for row in result:
            yield tuple(_cell(value, i in money) for i, value in enumerate(row))


def _cell(value: object, money: bool) -> Cell:
    if value is None:
        return None
    if money:
        return fen_to_yuan(int(str(value)))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        return value
    return str(value)


def _payments(area_code: str, year: int | None) -> Select[Any]:
    c = Contribution
    columns: list[Any] = [
        c.id,
        Person.id_number,
        Person.name,
        Employer.code,
        c.month,
        c.through_month,
        c.received_on,
        c.scheme,
        c.tier,
        c.base_fen,
        c.insurances,
        c.medical_employer_fen,
        c.medical_person_fen,
        c.credit_fen,
        c.key,
    ]
    query = (
        select(*columns)
        .join(Person, Person.id == c.person_id)
        .outerjoin(Employer, Employer.id == c.employer_id)
        .where(c.area_code == area_code)
        .order_by(c.id)
    )
    if year is not None:  # by the month paid for (a resident's year starts in its January)
        query = query.where(c.month.between(f"{year:04d}-01", f"{year:04d}-12"))
    return query


def _transfers(area_code: str, year: int | None) -> Select[Any]:
    t = LedgerTransfer
    debit, credit = aliased(LedgerAccount), aliased(LedgerAccount)
    columns: list[Any] = [
        t.id,
        t.value_date,
        t.kind,
        debit.code,
        credit.code,
        t.amount_fen,
        t.reverses_id,
        t.key,
        t.memo,
    ]
    query = (
        select(*columns)
        .join(debit, debit.id == t.debit_account_id)
        .join(credit, credit.id == t.credit_account_id)
        .where(t.book == accounts.medical_book(area_code))
        .order_by(t.id)
    )
    if year is not None:
        query = query.where(t.value_date.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
    return query


def _statements(
    uow_factory: Callable[[], UnitOfWork], area_code: str, year: int
) -> Iterator[tuple[Cell, ...]]:
    for id_number, s in area_statements(uow_factory=uow_factory, area_code=area_code, year=year):
        totals = s.totals
        yield (
            id_number,
            s.person_name,
            s.year,
            "yes" if s.has_personal_account else "no",
            fen_to_yuan(s.opening_balance_fen),
            fen_to_yuan(totals.credited_fen),
            fen_to_yuan(totals.spent_fen),
            fen_to_yuan(totals.family_aid_fen),
            fen_to_yuan(totals.refunds_fen),
            fen_to_yuan(totals.other_fen),
            fen_to_yuan(s.closing_balance_fen),
            fen_to_yuan(totals.medical_employer_fen),
            fen_to_yuan(totals.medical_person_fen),
            fen_to_yuan(s.fund_paid_fen),
        )
