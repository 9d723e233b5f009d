"""The monthly crediting run: set-based, batched, idempotent and resumable.

Every credit is one ledger transfer with the key `credit:c<contribution id>` (or
`retiree:<month>:p<person id>`: `causes.retiree_credit_key`); inserting with ON CONFLICT DO
NOTHING on that unique key makes a re-run, or a run resumed after a crash, credit each
contribution exactly once (on PostgreSQL the key is claimed in `ledger_key`, unique across the
monthly partitions, which the run makes first for its month, the current and the next:
`ledger.partitions`). A person-month is credited once whatever is stored: of two contributions
of one person and month that both pay medical (old data), only the first received is credited.
A month is credited once it has ended. The run's first transaction finds what it will credit,
each row with its person's personal account (opened then, in one statement, for the persons
credited for the first time), and keeps it in `crediting_run_row`; its batches post those rows
as they are. Each batch is its own transaction, so memory stays flat and a killed run loses at
most one batch of work; the run row remembers the last id its committed batches reached, so a
resumed run starts at its first unfinished batch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    Table,
    and_,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql import ColumnElement, Select

from yibao.adapters.db import sqlstate
from yibao.adapters.tables import (
    Contribution,
    CreditingRun,
    CreditingRunRow,
    Enrollment,
    LedgerAccount,
)
from yibao.domain.errors import InvalidInput
from yibao.domain.months import Month
from yibao.domain.schemes import Scheme
from yibao.ledger import accounts, bulk_posting, causes, partitions
from yibao.ledger.kinds import TransferKind
from yibao.ledger.whole_tables import read_whole_tables
from yibao.services.registry import lock_area, policy_schedule, require_area
from yibao.services.uow import UnitOfWork

C = Contribution.__table__
E = Enrollment.__table__
R: Table = CreditingRunRow.__table__  # type: ignore[assignment]
A = LedgerAccount.__table__

Progress = Callable[[int, int], None]
CONTRIBUTION, RETIREE = 1, 2  # what a run credits: crediting_run_row.kind
KIND_STRIDE = 1 << 48  # above every id a sequence will reach (281 trillion)
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock asked for NOWAIT and held


class MonthNotEnded(InvalidInput):
    code = "month_not_ended"


@dataclass(frozen=True, slots=True)
class CreditingSummary:
    area_code: str
    month: str
    run_date: dt.date
    contributions_credited: int
    retirees_credited: int
    credited_fen: int
    already_complete: bool


@dataclass(frozen=True, slots=True)
class _Batch:
    number: int
    high: int  # the highest id of its rows: where a resumed run starts once it commits
    rows: int


@dataclass(frozen=True, slots=True)
class _Plan:
    run_id: int
    book: str
    pooled_fund_id: int
    since: dt.date | None  # contributions received after this day (the last completed run)
    retiree_fen: int
    already_complete: bool
    contributions_done_through: int  # ids up to these were credited by committed batches
    retirees_done_through: int
    retiree_keys: str  # how the run keys its retirees' credits: crediting_run.retiree_keys


# Rows per batch, each batch one transaction. Fewer, larger batches let PostgreSQL join a batch
# to the accounts and to earlier payments by hashing rather than one probe per row: on the
# 1M-person bench city a month's run took 2.8-3.6 s in batches of 200,000 against 3.1-5.6 s in
# batches of 50,000 or 100,000. A killed run loses at most one batch: a few seconds of work.
BATCH_SIZE = 200_000
BATCH_INDEX = "ix_crediting_run_row_run_id"  # BRIN (run_id, kind, batch): migration 0031
# The run's first transaction joins its rows to the personal accounts by one hash and numbers
# them in one sort: at 5M persons, under PostgreSQL's default 4 MB, the hash spilled to disk in
# 16 parts, and the sort of 1.3M rows still spilled 74 MB under 128 MB (150 bytes a row).
RUN_WORK_MEM = "256MB"
# A batch's postings (200,000 rows) are kept once for its key claims, dates and counts: under the
# default 4 MB they went to disk and were read back three times. No JIT either: PostgreSQL
# compiles a statement this large by its estimated cost, tens of milliseconds a batch, more than
# it saves on a batch's simple statements.
BATCH_WORK_MEM = "64MB"


def run_crediting(
    *,
    uow_factory: Callable[[], UnitOfWork],
    area_code: str,
    month: Month,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> CreditingSummary:
    """Credit every medical contribution received by the month's last day and each retiree."""
    run_date = month.last_day
    with uow_factory() as uow:
        require_month_ended(month, uow.today())
        months = partitions.months_ahead(uow.today(), run_date)
    with uow_factory() as uow:  # its own short transaction: it locks the DEFAULT partition
        partitions.prepare_months(uow.session.connection(), months)
    with uow_factory() as uow:
        read_whole_tables(uow.session, work_mem=RUN_WORK_MEM)
        plan = _start(uow, area_code, month, run_date)
        pending = _Pending(uow, plan.run_id, plan.book)
        sources = {
            CONTRIBUTION: _pending_contributions(area_code, run_date, plan.since)
            .where(C.c.id > plan.contributions_done_through)
            .where(_first_of_its_person_month())
            .with_only_columns(C.c.id, C.c.person_id, C.c.credit_fen, C.c.month)
        }
        if plan.retiree_fen > 0:  # else the policy credits retirees nothing
            sources[RETIREE] = _retirees(area_code, month, plan)
        cut = pending.keep(sources, batch_size)
        pending.open_accounts()
    contributions, retirees = cut[CONTRIBUTION], cut.get(RETIREE, [])
    total = sum(batch.rows for batch in contributions + retirees)
    done = 0
    counts = [0, 0]
    for index, (kind, batches, watermark) in enumerate(
        (
            (CONTRIBUTION, contributions, CreditingRun.contributions_done_through),
            (RETIREE, retirees, CreditingRun.retirees_done_through),
        )
    ):
        for batch in batches:
            with uow_factory() as uow:
                # a batch's postings are kept once and read three times (keys, dates, counts)
                read_whole_tables(uow.session, work_mem=BATCH_WORK_MEM)
                posted, fen = _post_batch(uow, area_code, run_date, plan, kind, batch)
                # the same transaction: the counts are exact, the watermark never runs ahead
                _count_in_run(uow, area_code, month, posted, fen, {watermark: batch.high})
            counts[index] += posted
            done += batch.rows
            if progress is not None:
                progress(done, total)
    with uow_factory() as uow:
        credited_fen = _finish(uow, area_code, month)
        _forget_rows_posted(uow, plan.run_id)
    return CreditingSummary(
        area_code, str(month), run_date, counts[0], counts[1], credited_fen, plan.already_complete
    )


def require_month_ended(month: Month, today: dt.date) -> None:
    """Contributions received on its last day are credited too: that day must be over."""
    if month.last_day >= today:
        raise MonthNotEnded(
            "month",
            str(month),
            f"has not ended (today is {today}); credit it from {month.last_day + dt.timedelta(1)}",
        )


def _start(uow: UnitOfWork, area_code: str, month: Month, run_date: dt.date) -> _Plan:
    require_area(uow=uow, area_code=area_code)
    lock_area(uow, area_code, exclusive=True)  # payments being recorded for the area finish first
    policy = policy_schedule(uow=uow, area_code=area_code).for_month(month)
    run = uow.session.scalars(
        select(CreditingRun).where(
            CreditingRun.area_code == area_code, CreditingRun.month == str(month)
        )
    ).one_or_none()
    if run is None:
        run = CreditingRun(area_code=area_code, month=str(month), run_date=run_date)
        uow.session.add(run)
        uow.session.flush()
        created = True
    else:
        created = False
    since = uow.session.scalar(
        select(func.max(CreditingRun.run_date)).where(
            CreditingRun.area_code == area_code,
            CreditingRun.completed_at.is_not(None),
            CreditingRun.run_date < run_date,
        )
    )
    return _Plan(
        run_id=run.id,
        book=accounts.medical_book(area_code),
        pooled_fund_id=uow.ledger.account_id(accounts.pooled_fund(area_code)),
        since=since,
        retiree_fen=policy.retiree_monthly_fen,
        already_complete=not created and run.completed_at is not None,
        contributions_done_through=run.contributions_done_through or 0,
        retirees_done_through=run.retirees_done_through or 0,
        retiree_keys=run.retiree_keys,
    )


def _count_in_run(
    uow: UnitOfWork,
    area_code: str,
    month: Month,
    posted: int,
    fen: int,
    done_through: dict[Any, int],
) -> None:
    uow.session.execute(
        update(CreditingRun)
        .where(CreditingRun.area_code == area_code, CreditingRun.month == str(month))
        .values(
            {
                CreditingRun.credited_count: CreditingRun.credited_count + posted,
                CreditingRun.credited_fen: CreditingRun.credited_fen + fen,
                **done_through,
            }
        )
    )


def _finish(uow: UnitOfWork, area_code: str, month: Month) -> int:
    """Mark the run complete; returns what the month's run credited in all its attempts."""
    run = uow.session.scalars(
        select(CreditingRun).where(
            CreditingRun.area_code == area_code, CreditingRun.month == str(month)
        )
    ).one()
    run.completed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return run.credited_fen


# -- what is pending -----------------------------------------------------------------------
def _pending_contributions(area_code: str, run_date: dt.date, since: dt.date | None) -> Select:  # type: ignore[type-arg]
    query = select(C.c.id).where(
        C.c.area_code == area_code, C.c.received_on <= run_date, C.c.credit_fen > 0
    )
    return query if since is None else query.where(C.c.received_on > since)


def _first_of_its_person_month() -> ColumnElement[bool]:
    """No contribution of the same person and month paying medical was received before it.

    Looked up for each pending row by the person's index, never by hashing every contribution
    ever received: `OFFSET 0` keeps PostgreSQL from turning the lookup into a join, which at 5M
    persons it planned as a hash of all 6.4M contributions (11 s of a run, spilled to disk, and
    growing with every month of history) where the lookups take about 2 s.
    """
    earlier = C.alias("earlier")
    return ~exists(
        select(earlier.c.id)
        .where(
            earlier.c.person_id == C.c.person_id,
            earlier.c.month == C.c.month,
            earlier.c.credit_fen > 0,
            or_(
                earlier.c.received_on < C.c.received_on,
                and_(earlier.c.received_on == C.c.received_on, earlier.c.id < C.c.id),
            ),
        )
        .offset(0)
    )


def _retirees(area_code: str, month: Month, plan: _Plan) -> Select:  # type: ignore[type-arg]
    """(enrolment id, person, fixed credit, month) of each person retired on the month's last
    day, once however many retiree enrolments they hold: their first not yet credited."""
    run_date = month.last_day
    return (
        select(func.min(E.c.id), E.c.person_id, literal(plan.retiree_fen), literal(str(month)))
        .where(
            E.c.area_code == area_code,
            E.c.scheme == str(Scheme.RETIREE),
            E.c.starts_on <= run_date,
            (E.c.ends_on.is_(None)) | (E.c.ends_on > run_date),
            E.c.id > plan.retirees_done_through,
        )
        .group_by(E.c.person_id)
    )


class _Pending:
    """What the run will credit, found once, in its first transaction, and kept in
    `crediting_run_row` for its batches, each row with its person's personal account.

    The accounts are joined to the run's rows once, where each batch joined its rows to them
    again, one index probe a row: at 5M persons the accounts' pages no longer stay in memory and
    those probes took 0.85 s of a 2 s batch. A month's payments nearly always include someone
    new (a new hire, a first payment): their accounts are opened here, in one statement, and
    their rows find them as they are posted. Rows of an earlier attempt of the run (killed) are
    found again.
    """

    def __init__(self, uow: UnitOfWork, run_id: int, book: str) -> None:
        self.uow = uow
        self.run_id = run_id
        self.book = book
        _forget_rows(uow, run_id)

    def keep(self, sources: dict[int, Select], batch_size: int) -> dict[int, list[_Batch]]:  # type: ignore[type-arg]
        """Keep each kind's rows (id, person id, amount, month) with their persons' accounts,
        joined once for all kinds, numbered in order of kind and id into batches of
        `batch_size` rows and written in that order; the batches of each kind. Cutting by count
        rather than by id span keeps sparse ids (a month's retirees are spread over the whole
        enrollment table) from making many small or empty batches."""
        given = union_all(
            *(
                select(literal(kind, Integer).label("kind"), *_named(rows))
                for kind, rows in sources.items()
            )
        ).subquery()
        # kind, then id, as one number: PostgreSQL sorts by one bigint in half the time it takes
        # to sort by two columns (0.3 s against 0.7 s for a 5M-person city's 1.3M rows). The
        # numbers run on from one kind to the next, so a kind's last batch and the next kind's
        # first may both be short.
        in_order = cast(given.c.kind, BigInteger) * KIND_STRIDE + given.c.source_id
        numbered = func.row_number(type_=BigInteger).over(order_by=in_order)
        found = (
            select(
                literal(self.run_id, BigInteger),
                given.c.kind,
                (numbered - 1) // batch_size,
                given.c.source_id,
                given.c.person_id,
                A.c.id,
                given.c.amount_fen,
                given.c.month,
            )
            .select_from(given)
            .outerjoin(A, _personal_account_of(given.c.person_id, self.book))
            .order_by(in_order)
        )
        names = ["run_id", "kind", "batch", "source_id", "person_id", "account_id"]
        self.uow.session.execute(insert(R).from_select([*names, "amount_fen", "month"], found))
        if self.uow.dialect == "postgresql":
            # Each batch reads its own pages through the BRIN index only once the new pages are
            # summarized (else all of them: 13,680 pages for each 200,000 rows at 5M persons);
            # and is planned on what the table holds.
            self.uow.session.execute(
                text(f"SELECT brin_summarize_new_values('{BATCH_INDEX}'::regclass)")
            )
            self.uow.session.execute(text("ANALYZE crediting_run_row"))
        cut = self.uow.session.execute(
            select(R.c.kind, R.c.batch, func.max(R.c.source_id), func.count())
            .where(R.c.run_id == self.run_id)
            .group_by(R.c.kind, R.c.batch)
            .order_by(R.c.kind, R.c.batch)
        )
        batches: dict[int, list[_Batch]] = {kind: [] for kind in sources}
        for kind, number, high, count in cut:
            batches[int(kind)].append(_Batch(int(number), int(high), int(count)))
        return batches

    def open_accounts(self) -> None:
        """The personal account of each person kept here who has none, in one statement; their
        rows, kept without one, find it as their batch posts them (`_account_of`)."""
        without = (R.c.run_id == self.run_id) & R.c.account_id.is_(None)
        bulk_posting.open_accounts(
            self.uow.session,
            book=self.book,
            kind=accounts.AccountKind.PERSONAL,
            owners=select(R.c.person_id).where(without),
        )


def _named(rows: Select) -> list[Any]:  # type: ignore[type-arg]
    """A source's four columns under the names the kinds share."""
    given = rows.subquery()
    return [
        column.label(name)
        for column, name in zip(
            given.c, ("source_id", "person_id", "amount_fen", "month"), strict=True
        )
    ]


def _personal_account_of(person_id: Any, book: str) -> ColumnElement[bool]:
    return and_(
        A.c.owner_person_id == person_id,
        A.c.book == book,
        A.c.kind == str(accounts.AccountKind.PERSONAL),
    )


def _forget_rows(uow: UnitOfWork, run_id: int) -> None:
    """A killed attempt's rows, before they are found again."""
    uow.session.execute(delete(R).where(R.c.run_id == run_id))


def _forget_rows_posted(uow: UnitOfWork, run_id: int) -> None:
    """The run's rows once every batch is posted: on PostgreSQL the whole table at once if it
    holds no other run's (1.3M rows deleted one by one took 0.3 s, and left their dead rows for
    the next run to write past), else the run's own."""
    if uow.dialect == "postgresql" and _alone_in_rows(uow, run_id):
        uow.session.execute(text(f"TRUNCATE {R.name}"))
    else:
        _forget_rows(uow, run_id)


def _alone_in_rows(uow: UnitOfWork, run_id: int) -> bool:
    """Whether `crediting_run_row` holds this run's rows only, locked so that it stays so until
    the transaction ends; never waiting for the lock: another run (of another area) using the
    table has rows in it, or soon will."""
    try:
        with uow.session.begin_nested():
            uow.session.execute(text(f"LOCK TABLE {R.name} IN ACCESS EXCLUSIVE MODE NOWAIT"))
    except OperationalError as refused:
        if sqlstate(refused) != LOCK_NOT_AVAILABLE:
            raise
        return False
    others = exists().where(or_(R.c.run_id < run_id, R.c.run_id > run_id))  # BRIN ranges
    return not uow.session.scalar(select(others))


# -- posting one batch ---------------------------------------------------------------------
def _post_batch(
    uow: UnitOfWork, area_code: str, run_date: dt.date, plan: _Plan, kind: int, batch: _Batch
) -> tuple[int, int]:
    """Post a batch's rows not posted yet, pooled fund to personal account; (how many, fen)."""
    if kind == CONTRIBUTION:
        key = literal("credit:c", String) + cast(R.c.source_id, String)
        memo = literal("personal account credit for ", String) + R.c.month
        transfer_kind = TransferKind.CREDITING
    else:
        key = causes.retiree_credit_key(R.c.person_id, R.c.month, literal(plan.retiree_keys))
        memo = literal("retiree fixed credit for ", String) + R.c.month
        transfer_kind = TransferKind.RETIREE_CREDITING
    rows = select(
        key,
        _account_of(plan.book),
        R.c.amount_fen,
        literal(run_date),
        literal(str(transfer_kind), String),
        memo,
    ).where(
        R.c.run_id == plan.run_id,
        R.c.kind == kind,
        R.c.batch == batch.number,
    )
    return bulk_posting.post_to_accounts(
        uow.session,
        debit=accounts.pooled_fund(area_code),
        debit_id=plan.pooled_fund_id,
        rows=rows,
    )


def _account_of(book: str) -> ColumnElement[int]:
    """The account a row was kept with, or, for a person who had none when the run found its
    rows, the one opened since (by the run, or by another writer meanwhile): looked up for those
    few rows only, where filling them in when the accounts were opened read every row again."""
    opened = select(A.c.id).where(_personal_account_of(R.c.person_id, book)).scalar_subquery()
    return func.coalesce(R.c.account_id, opened)
