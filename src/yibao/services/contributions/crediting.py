"""The monthly crediting run: set-based, batched, idempotent and resumable.

Every credit is one ledger transfer with the key `credit:c<contribution id>` (or
`retiree:p<person id>:<month>`); inserting with ON CONFLICT DO NOTHING on that unique key makes a
re-run, or a run resumed after a crash, credit each contribution exactly once (on PostgreSQL
the key is claimed in `ledger_key`, unique across the monthly partitions, which the run makes
first for its month, the current and the next: `ledger.partitions`). A person-month is
credited once whatever is stored: of two contributions of one person and month that both pay
medical (old data), only the first received is credited. A month is credited once it has
ended. The persons credited for the first time get their personal accounts before the batches
post, in one statement for the run (`bulk_posting.post_to_owners` opens any it missed). Each
batch is its own transaction, so memory stays flat and a killed run loses at most one batch of
work; the run row remembers the last id its committed batches reached, so a resumed run starts
at its first unfinished batch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    cast,
    column,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.sql import ColumnElement, Select

from yibao.adapters.tables import Contribution, CreditingRun, Enrollment
from yibao.domain.errors import InvalidInput
from yibao.domain.months import Month
from yibao.domain.schemes import Scheme
from yibao.ledger import accounts, bulk_posting, partitions
from yibao.ledger.kinds import TransferKind
from yibao.services.registry import lock_area, policy_schedule, require_area
from yibao.services.uow import UnitOfWork

C = Contribution.__table__
E = Enrollment.__table__

Progress = Callable[[int, int], None]


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
    low: int  # lowest and highest id of the batch's rows
    high: int
    rows: int


@dataclass(frozen=True, slots=True)
class _Plan:
    book: str
    pooled_fund_id: int
    since: dt.date | None  # contributions received after this day (the last completed run)
    retiree_fen: int
    already_complete: bool
    contributions_done_through: int  # ids up to these were credited by committed batches
    retirees_done_through: int


# Rows per batch, each batch one transaction. Fewer, larger batches let PostgreSQL join a batch
# to the accounts and to earlier payments by hashing rather than one probe per row: on the
# 1M-person bench city a month's run took 2.8-3.6 s in batches of 200,000 against 3.1-5.6 s in
# batches of 50,000 or 100,000. A killed run loses at most one batch: a few seconds of work.
BATCH_SIZE = 200_000


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
        _without_jit(uow)
        plan = _start(uow, area_code, month, run_date)
        pending = _Pending(uow)
        contributions = pending.batches(
            _pending_contributions(area_code, run_date, plan.since)
            .where(C.c.id > plan.contributions_done_through)
            .with_only_columns(C.c.id, C.c.person_id),
            batch_size,
        )
        retirees = pending.batches(
            _retirees_on(area_code, run_date)
            .where(E.c.id > plan.retirees_done_through)
            .with_only_columns(E.c.id, E.c.person_id),
            batch_size,
            credited=plan.retiree_fen > 0,  # else the policy credits retirees nothing
        )
        pending.open_accounts(plan.book)
    total = sum(batch.rows for batch in contributions + retirees)
    done = 0
    counts = [0, 0]
    for index, (batches, poster, watermark) in enumerate(
        (
            (contributions, _credit_contributions, CreditingRun.contributions_done_through),
            (retirees, _credit_retirees, CreditingRun.retirees_done_through),
        )
    ):
        for batch in batches:
            with uow_factory() as uow:
                _without_jit(uow)
                posted, fen = poster(uow, area_code, run_date, month, plan, batch.low, batch.high)
                # the same transaction: the counts are exact, the watermark never runs ahead
                _count_in_run(uow, area_code, month, posted, fen, {watermark: batch.high})
            counts[index] += posted
            done += batch.rows
            if progress is not None:
                progress(done, total)
    with uow_factory() as uow:
        credited_fen = _finish(uow, area_code, month)
    return CreditingSummary(
        area_code, str(month), run_date, counts[0], counts[1], credited_fen, plan.already_complete
    )


def _without_jit(uow: UnitOfWork) -> None:
    """PostgreSQL compiles a statement this large to machine code (JIT) by its estimated cost:
    tens of milliseconds a batch statement, more than it saves on a batch's simple joins."""
    if uow.dialect == "postgresql":
        uow.session.execute(text("SET LOCAL jit = off"))


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
        uow.session.add(CreditingRun(area_code=area_code, month=str(month), run_date=run_date))
    since = uow.session.scalar(
        select(func.max(CreditingRun.run_date)).where(
            CreditingRun.area_code == area_code,
            CreditingRun.completed_at.is_not(None),
            CreditingRun.run_date < run_date,
        )
    )
    return _Plan(
        book=accounts.medical_book(area_code),
        pooled_fund_id=uow.ledger.account_id(accounts.pooled_fund(area_code)),
        since=since,
        retiree_fen=policy.retiree_monthly_fen,
        already_complete=run is not None and run.completed_at is not None,
        contributions_done_through=(run and run.contributions_done_through) or 0,
        retirees_done_through=(run and run.retirees_done_through) or 0,
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
    """No contribution of the same person and month paying medical was received before it."""
    earlier = C.alias("earlier")
    return ~exists().where(
        earlier.c.person_id == C.c.person_id,
        earlier.c.month == C.c.month,
        earlier.c.credit_fen > 0,
        or_(
            earlier.c.received_on < C.c.received_on,
            and_(earlier.c.received_on == C.c.received_on, earlier.c.id < C.c.id),
        ),
    )


def _retirees_on(area_code: str, run_date: dt.date) -> Select:  # type: ignore[type-arg]
    return select(E.c.id).where(
        E.c.area_code == area_code,
        E.c.scheme == str(Scheme.RETIREE),
        E.c.starts_on <= run_date,
        (E.c.ends_on.is_(None)) | (E.c.ends_on > run_date),
    )


class _Pending:
    """What the run will credit, found once: the pending rows' ids and persons, kept in a
    temporary table of the run's first transaction, from which it cuts the batches and opens
    the accounts of the persons credited for the first time (two reads of one scan, where each
    was a scan of the contributions or the enrollments).

    A month's payments nearly always include someone new (a new hire, a first payment): found
    batch by batch, each batch would be inserted, refused for the owner without an account, and
    inserted again (`bulk_posting.post_to_owners`, which still opens any account missed here).
    """

    NAME = "crediting_pending"

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.table = table(self.NAME, column("kind"), column("id"), column("person_id"))
        self._kinds = 0
        self._credited: list[int] = []  # the kinds whose persons the run credits
        postgres = uow.dialect == "postgresql"
        uow.session.execute(text(f"DROP TABLE IF EXISTS {self.NAME}"))
        uow.session.execute(
            text(
                f"CREATE {'TEMPORARY' if postgres else 'TEMP'} TABLE {self.NAME} "
                "(kind INTEGER NOT NULL, id BIGINT NOT NULL, person_id BIGINT NOT NULL)"
                + (" ON COMMIT DROP" if postgres else "")
            )
        )

    def batches(
        self,
        rows: Select,  # type: ignore[type-arg]
        batch_size: int,
        *,
        credited: bool = True,
    ) -> list[_Batch]:
        """Keep `rows` (id, person id) and cut them, in id order, into batches of
        `batch_size` rows. Cutting by count rather than by id span keeps sparse ids (a month's
        retirees are spread over the whole enrollment table) from making many small or empty
        batches."""
        self._kinds += 1
        kind = self._kinds
        if credited:
            self._credited.append(kind)
        given = rows.subquery()
        self.uow.session.execute(
            insert(self.table).from_select(
                ["kind", "id", "person_id"], select(literal(kind), *given.c)
            )
        )
        if self.uow.dialect == "postgresql":  # no autovacuum ever analyzes a temporary table
            self.uow.session.execute(text(f"ANALYZE {self.NAME}"))
        ids = select(self.table.c.id).where(self.table.c.kind == kind).subquery()
        position = func.row_number(type_=Integer).over(order_by=ids.c.id) - 1
        numbered = select(ids.c.id, (position // batch_size).label("batch")).subquery()
        found = self.uow.session.execute(
            select(func.min(numbered.c.id), func.max(numbered.c.id), func.count())
            .group_by(numbered.c.batch)
            .order_by(numbered.c.batch)
        )
        return [_Batch(int(low), int(high), int(count)) for low, high, count in found]

    def open_accounts(self, book: str) -> None:
        """The personal account of each person kept here who has none, in one statement."""
        bulk_posting.open_accounts(
            self.uow.session,
            book=book,
            kind=accounts.AccountKind.PERSONAL,
            owners=select(self.table.c.person_id).where(self.table.c.kind.in_(self._credited)),
        )
        if self.uow.dialect != "postgresql":
            self.uow.session.execute(text(f"DROP TABLE {self.NAME}"))


# -- posting one batch ---------------------------------------------------------------------
def _credit_contributions(
    uow: UnitOfWork,
    area_code: str,
    run_date: dt.date,
    month: Month,
    plan: _Plan,
    low: int,
    high: int,
) -> tuple[int, int]:
    batch = (
        _pending_contributions(area_code, run_date, plan.since)
        .where(C.c.id.between(low, high))
        .where(_first_of_its_person_month())
    )
    pending = batch.with_only_columns(C.c.id, C.c.person_id, C.c.credit_fen, C.c.month).subquery()
    rows = select(
        literal("credit:c", String) + cast(pending.c.id, String),
        pending.c.person_id,
        pending.c.credit_fen,
        literal(run_date),
        literal(str(TransferKind.CREDITING), String),
        literal("personal account credit for ", String) + pending.c.month,
    )
    return _post(uow, area_code, plan, rows)


def _credit_retirees(
    uow: UnitOfWork,
    area_code: str,
    run_date: dt.date,
    month: Month,
    plan: _Plan,
    low: int,
    high: int,
) -> tuple[int, int]:
    if plan.retiree_fen <= 0:
        return 0, 0
    batch = _retirees_on(area_code, run_date).where(E.c.id.between(low, high))
    retirees = batch.with_only_columns(E.c.person_id).distinct().subquery()
    rows = select(
        literal("retiree:p", String) + cast(retirees.c.person_id, String) + literal(f":{month}"),
        retirees.c.person_id,
        literal(plan.retiree_fen),
        literal(run_date),
        literal(str(TransferKind.RETIREE_CREDITING), String),
        literal(f"retiree fixed credit for {month}", String),
    )
    return _post(uow, area_code, plan, rows)


def _post(uow: UnitOfWork, area_code: str, plan: _Plan, rows: Select) -> tuple[int, int]:  # type: ignore[type-arg]
    """Post the rows not posted yet, pooled fund to personal account; (how many, fen) now."""
    return bulk_posting.post_to_owners(
        uow.session,
        debit=accounts.pooled_fund(area_code),
        debit_id=plan.pooled_fund_id,
        credit_kind=accounts.AccountKind.PERSONAL,
        rows=rows,
    )
