"""Writing a demo city in bulk: persons with their employment and enrolments, then months of
contributions with the ledger transfers that recording them posts.

Rows are generated lazily inside each COPY, so Python builds rows while PostgreSQL stores them;
only the current chunk's secondary rows (enrolments, transfers) are held in memory.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import Connection, case, func, null, or_, select

from yibao.adapters.bulk import BulkLoader, Row
from yibao.adapters.tables import Employment, Enrollment, Person
from yibao.demo.payments import Payer, Payment, is_resident_month, payments_received
from yibao.demo.people import PersonDraft, PersonFactory, kinds_in_range
from yibao.demo.pricing import Pricer
from yibao.domain.months import Month
from yibao.domain.schemes import Scheme
from yibao.ledger import accounts
from yibao.ledger.bulk_posting import append_between

Progress = Callable[[int, int], None]

BULK_TABLES = ("person", "employment", "enrollment", "contribution", "ledger_transfer")
PERSON_CHUNK = 50_000
PAYER_ID_SPAN = 25_000  # person ids read at a time

E = Enrollment.__table__
P = Person.__table__
J = Employment.__table__

PERSON_COLUMNS = ("id", "id_number", "name", "birth_date", "sex", "area_code")
EMPLOYMENT_COLUMNS = ("id", "person_id", "employer_id", "hired_on", "registered_on", "left_on")
ENROLLMENT_COLUMNS = (
    "id",
    "person_id",
    "area_code",
    "scheme",
    "tier",
    "employer_id",
    "starts_on",
    "ends_on",
)
CONTRIBUTION_COLUMNS = (
    "id",
    "key",
    "person_id",
    "area_code",
    "month",
    "through_month",
    "received_on",
    "scheme",
    "tier",
    "employer_id",
    "base_fen",
    "insurances",
    "medical_employer_fen",
    "medical_person_fen",
    "credit_fen",
)


@dataclass(slots=True)
class PaymentTotals:
    contributions: int = 0
    with_medical: int = 0  # those that moved money to the pooled fund
    back_payments: int = 0  # received after the last month they pay for
    without_medical: int = 0  # other insurances paid, medical not
    medical_fen: int = 0
    credit_fen: int = 0  # what crediting them will move to personal accounts


@dataclass(slots=True)
class PeopleTotals:
    by_kind: dict[str, int] = field(default_factory=dict)
    late_registrations: int = 0
    not_registered: int = 0
    leavers: int = 0


@dataclass(frozen=True, slots=True)
class LedgerIds:
    book: str
    income_id: int
    pooled_fund_id: int


class Steps:
    """Progress in person-steps: one per person generated, one per person and month."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.done, self.progress = total, 0, progress

    def advance_to(self, done: int) -> None:
        self.done = min(max(done, self.done), self.total)
        if self.progress is not None:
            self.progress(self.done, self.total)


# -- persons, employment, enrolments ---------------------------------------------------------
def write_people(
    loader: BulkLoader,
    factory: PersonFactory,
    *,
    area_code: str,
    persons: int,
    rng: random.Random,
    steps: Steps,
) -> PeopleTotals:
    next_id = {table: loader.next_id(table) for table in ("person", "employment", "enrollment")}
    totals = PeopleTotals()
    for low in range(0, persons, PERSON_CHUNK):
        kinds = kinds_in_range(low, min(low + PERSON_CHUNK, persons))
        rng.shuffle(kinds)
        jobs: list[Row] = []
        enrolments: list[Row] = []
        rows = _person_rows(
            factory, kinds, next_id["person"] + low, area_code, next_id, jobs, enrolments, totals
        )
        loader.append("person", PERSON_COLUMNS, rows)
        loader.append("employment", EMPLOYMENT_COLUMNS, jobs)
        loader.append("enrollment", ENROLLMENT_COLUMNS, enrolments)
        steps.advance_to(low + len(kinds))
    return totals


def _person_rows(
    factory: PersonFactory,
    kinds: list[tuple[str, str | None]],
    first: int,
    area_code: str,
    next_id: dict[str, int],
    jobs: list[Row],
    enrolments: list[Row],
    totals: PeopleTotals,
) -> Iterator[Row]:
    """Person rows, made as COPY consumes them; their employment and enrolment rows are kept."""
    for offset, (kind, tier) in enumerate(kinds):
        draft = factory.person(first + offset, kind, tier)
        _secondary_rows(draft, area_code, next_id, jobs, enrolments)
        _count(totals, draft)
        yield (draft.id, draft.id_number, draft.name, draft.birth.isoformat(), draft.sex, area_code)


def _secondary_rows(
    draft: PersonDraft,
    area_code: str,
    next_id: dict[str, int],
    jobs: list[Row],
    enrolments: list[Row],
) -> None:
    employer_id = None if draft.employer is None else draft.employer.id
    if employer_id is not None:
        jobs.append(
            (
                next_id["employment"],
                draft.id,
                employer_id,
                _iso(draft.hired_on),
                _iso(draft.registered_on),
                _iso(draft.left_on),
            )
        )
        next_id["employment"] += 1
    if draft.enrolled_on is not None:
        enrolments.append(
            (
                next_id["enrollment"],
                draft.id,
                area_code,
                draft.kind,
                draft.tier,
                employer_id,
                _iso(draft.enrolled_on),
                _iso(draft.left_on),
            )
        )
        next_id["enrollment"] += 1


def _count(totals: PeopleTotals, draft: PersonDraft) -> None:
    label = draft.kind if draft.tier is None else f"{draft.kind}/{draft.tier}"
    totals.by_kind[label] = totals.by_kind.get(label, 0) + 1
    if draft.hired_on is not None and draft.registered_on is None:
        totals.not_registered += 1
    elif draft.hired_on is not None and draft.registered_on is not None:
        # Social Insurance Law art. 58: register within 30 days of hiring
        totals.late_registrations += (draft.registered_on - draft.hired_on).days > 30
    totals.leavers += draft.left_on is not None


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


# -- months of payments ----------------------------------------------------------------------
def write_months(
    connection: Connection,
    loader: BulkLoader,
    *,
    area_code: str,
    ledger: LedgerIds,
    pricer: Pricer,
    start: Month,
    first: Month,
    months: int,
    seed: int,
    steps: Steps,
    persons: int,
) -> PaymentTotals:
    """The payments received in months first..first+months-1 (`start` opens the data window)."""
    totals = PaymentTotals()
    writer = _MonthWriter(loader, area_code, ledger, pricer, totals)
    done_before = steps.done
    for offset in range(months):
        month = first.plus(offset)
        schemes = [Scheme.EMPLOYEE, Scheme.FLEXIBLE]
        if is_resident_month(month, start):
            schemes.append(Scheme.RESIDENT)
        for payers, share in _payers(connection, area_code, month, schemes):
            writer.write(
                (payer, payment)
                for payer in payers
                for payment in payments_received(payer, month, start=start, seed=seed)
            )
            steps.advance_to(done_before + int((offset + share) * persons))
        steps.advance_to(done_before + (offset + 1) * persons)
    return totals


class _MonthWriter:
    def __init__(
        self,
        loader: BulkLoader,
        area_code: str,
        ledger: LedgerIds,
        pricer: Pricer,
        totals: PaymentTotals,
    ) -> None:
        self.loader, self.area_code, self.ledger, self.pricer = loader, area_code, ledger, pricer
        self.totals = totals
        self.next_contribution = loader.next_id("contribution")
        self.next_transfer = loader.next_id("ledger_transfer")

    def write(self, payments: Iterator[tuple[Payer, Payment]]) -> None:
        transfers: list[Row] = []
        self.loader.append("contribution", CONTRIBUTION_COLUMNS, self._rows(payments, transfers))
        append_between(
            self.loader,
            debit=accounts.contribution_income(self.area_code),
            debit_id=self.ledger.income_id,
            credit=accounts.pooled_fund(self.area_code),
            credit_id=self.ledger.pooled_fund_id,
            rows=transfers,
        )

    def _rows(
        self, payments: Iterator[tuple[Payer, Payment]], transfers: list[Row]
    ) -> Iterator[Row]:
        totals = self.totals
        for payer, payment in payments:
            base, employer_fen, person_fen, credit = self.pricer.price(payer, payment)
            contribution_id = self.next_contribution
            self.next_contribution += 1
            received = payment.received_on.isoformat()
            insurances = ",".join(payment.insurances)
            key = f"{payer.person_id}:{payment.month}:{received}:{insurances}"  # as recorded
            yield (
                contribution_id,
                key,
                payer.person_id,
                self.area_code,
                str(payment.month),
                str(payment.through),
                received,
                str(payer.scheme),
                payer.tier,
                payer.employer_id,
                base,
                insurances,
                employer_fen,
                person_fen,
                credit,
            )
            totals.contributions += 1
            totals.back_payments += payment.is_back_pay
            totals.without_medical += "medical" not in payment.insurances
            if employer_fen + person_fen > 0:  # the transfer record_contribution posts
                transfers.append(
                    (
                        self.next_transfer,
                        f"contribution:{contribution_id}",
                        employer_fen + person_fen,
                        received,
                        "contribution",
                        f"medical {payment.month}",
                    )
                )
                self.next_transfer += 1
                totals.with_medical += 1
                totals.medical_fen += employer_fen + person_fen
                totals.credit_fen += credit


def _payers(
    connection: Connection, area_code: str, month: Month, schemes: list[Scheme]
) -> Iterator[tuple[list[Payer], float]]:
    """The enrolments in `schemes` open at some time in `month`, by ranges of person ids (both
    tables are then read by index ranges), each with the share of the persons read so far."""
    low, high = connection.execute(
        select(func.min(E.c.person_id), func.max(E.c.person_id)).where(E.c.area_code == area_code)
    ).one()
    if low is None:
        return
    # The hiring date matters only in the month of registration (months owed since hiring).
    hired = case(
        (
            E.c.starts_on >= month.first_day,
            select(func.max(J.c.hired_on))
            .where(
                J.c.person_id == E.c.person_id,
                J.c.employer_id == E.c.employer_id,
                J.c.hired_on <= E.c.starts_on,
            )
            .scalar_subquery(),
        ),
        else_=null(),
    )
    query = (
        select(
            E.c.person_id,
            P.c.birth_date,
            E.c.scheme,
            E.c.tier,
            E.c.employer_id,
            E.c.starts_on,
            E.c.ends_on,
            hired,
        )
        .join(P, P.c.id == E.c.person_id)
        .where(
            E.c.area_code == area_code,
            E.c.scheme.in_([str(s) for s in schemes]),
            E.c.starts_on <= month.last_day,
            or_(E.c.ends_on.is_(None), E.c.ends_on > month.first_day),
        )
        .order_by(E.c.person_id, E.c.id)
    )
    low, high = int(low), int(high)
    for first in range(low, high + 1, PAYER_ID_SPAN):
        last = min(first + PAYER_ID_SPAN - 1, high)
        chunk = query.where(E.c.person_id.between(first, last), P.c.id.between(first, last))
        rows = connection.execute(chunk).all()
        payers = [
            Payer(person_id, birth, Scheme(scheme), tier, employer_id, starts_on, ends_on, hired_on)
            for person_id, birth, scheme, tier, employer_id, starts_on, ends_on, hired_on in rows
        ]
        yield payers, (last - low + 1) / (high - low + 1)
