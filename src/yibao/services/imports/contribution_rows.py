"""Contributions from a file, set-based: a month's declaration of a city, or a migration.

Three steps, in the caller's one transaction: (1) each row's own fields are parsed by the domain
(ID number, month or year, insurances, base in yuan, received day, ref) and the good ones are
appended to a staging table (COPY on PostgreSQL); (2) the staged rows are read back in chunks
joined to the person, the scheme on the day received, the file's earlier rows and the payments
already recorded, and each row is judged by the contribution service's own rules
(`require_scheme`, `months_paid`, `refuse_closed_period`, `refuse_repeated`) and priced by
`price_payment`; (3) while no row is refused, each judged chunk becomes contributions and their
ledger transfers, set-based, written while the next chunk is judged; a refusal anywhere rolls
the whole file back. A row that repeats a recorded payment with the same
reference and content is skipped, as `record_contribution` returns the first receipt on a retry.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import (
    Connection,
    Select,
    String,
    Table,
    TextClause,
    column,
    insert,
    select,
    table,
    text,
)
from sqlalchemy import cast as sql_cast

from yibao.adapters.bulk import BulkLoader, Row
from yibao.adapters.tables import Contribution, Person
from yibao.domain.crediting import price_payment
from yibao.domain.errors import Conflict, InvalidInput, UnknownPerson, YibaoError
from yibao.domain.idnumber import IdNumber, mask
from yibao.domain.money import yuan_to_fen
from yibao.domain.months import Month, age_on, parse_date
from yibao.domain.policy import Policy, PolicySchedule
from yibao.domain.schemes import Scheme
from yibao.ledger import accounts
from yibao.ledger.bulk_posting import post_between
from yibao.ledger.kinds import TransferKind
from yibao.services.contributions import (
    ContributionCmd,
    closed_through,
    months_paid,
    normalize_insurances,
    refuse_closed,
    refuse_repeated,
    require_scheme,
)
from yibao.services.imports.rows import Refuse, RowError, SheetRow, row_error
from yibao.services.registry import fields, lock_area, person_label, policy_schedule
from yibao.services.uow import UnitOfWork

REQUIRED = ("id_number", "insurances")  # and month (or year), base, received_on, ref
CHUNK = 50_000
MEMO_LIMIT = 100_000  # distinct texts a memo keeps before it starts afresh: memory stays flat

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

STAGED = "import_contribution"
PRICED = "import_priced"
STAGED_COLUMNS = (
    "row_no",
    "id_number",
    "first_month",
    "through_month",
    "month",
    "year",
    "received_on",
    "base_fen",
    "insurances",
    "ref",
)
PRICED_COLUMNS = (
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


def import_contributions(
    uow: UnitOfWork, rows: Iterable[SheetRow], refuse: Refuse, employer_code: str | None
) -> int:
    connection = uow.session.connection()
    loader = BulkLoader(connection)
    _create_staging(connection, loader.postgres)
    count = _Counter()
    judge = _Judge(uow, refuse, employer_code)
    loader.append(STAGED, STAGED_COLUMNS, _parsed(count.of(rows), judge.refuse, uow.today()))
    connection.exec_driver_sql(f"CREATE INDEX ix_{STAGED}_person ON {STAGED} (id_number)")
    connection.exec_driver_sql(f"CREATE UNIQUE INDEX ix_{STAGED}_row ON {STAGED} (row_no)")
    if loader.postgres:
        connection.exec_driver_sql(f"ANALYZE {STAGED}")
        _lock_payers(uow, connection)
    _find_met(connection, loader.postgres)
    last = int(connection.exec_driver_sql(f"SELECT max(row_no) FROM {STAGED}").scalar() or 0)
    lows = range(0, last, CHUNK)
    met = judge.met(connection, 0, CHUNK) if lows else None
    with _Beside(loader.postgres) as applying:
        for low in lows:
            assert met is not None
            priced = list(judge.chunk(met))  # in Python, while the chunk before is written
            applying.wait()  # written: the connection is free again
            if not judge.refused:  # else the file will not be written: judge on, for the report
                loader.append(PRICED, PRICED_COLUMNS, priced)
            following = low + CHUNK
            met = judge.met(connection, following, following + CHUNK) if following < last else None
            if not judge.refused:
                applying.start(lambda: _apply(uow, connection))
    _drop_staging(connection)
    return count.rows


class _Beside:
    """Writes one judged chunk while the next is judged (PostgreSQL: the server stores while
    Python judges, on the two cores; SQLite writes at once).

    The connection is used by one side at a time: the next chunk's rows are read after the
    write before has ended (`wait`) and before the next write starts, so judging a chunk is
    all that runs beside a write. A write's error is raised by `wait`, and the caller's
    transaction rolls back the chunks written before.
    """

    def __init__(self, beside: bool) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1) if beside else None
        self._pending: Future[None] | None = None

    def start(self, write: Callable[[], None]) -> None:
        self.wait()
        if self._pool is None:
            write()
        else:
            self._pending = self._pool.submit(write)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> _Beside:
        return self

    def __exit__(self, *failed: object) -> None:
        try:
            if failed[0] is None:
                self.wait()
            elif self._pending is not None:
                wait([self._pending])  # never roll back under a write still running
        finally:
            if self._pool is not None:
                self._pool.shutdown()


class _Counter:
    def __init__(self) -> None:
        self.rows = 0

    def of(self, rows: Iterable[SheetRow]) -> Iterator[SheetRow]:
        for row in rows:
            self.rows += 1
            yield row


# -- step 1: each row's own fields -------------------------------------------------------------
class _Memo(Generic[K, V]):
    """A pure function's results by argument: a file repeats few months, bases, days, schemes.

    A call that raises keeps nothing, so a bad value is refused each time with the same error.
    """

    def __init__(self, function: Callable[[K], V]) -> None:
        self.function = function
        self.found: dict[K, V] = {}

    def __call__(self, argument: K) -> V:
        try:
            return self.found[argument]
        except KeyError:
            pass
        value = self.function(argument)
        if len(self.found) >= MEMO_LIMIT:
            self.found.clear()
        self.found[argument] = value
        return value


def _period(written: tuple[str, str]) -> tuple[str, str, str | None, int | None]:
    """First and last month paid, the month and the year, from the month and year cells."""
    month_text, year_text = written
    if month_text and year_text:
        raise InvalidInput("year", year_text, "is given with a month: give one of them")
    month = Month.parse(month_text) if month_text else None
    year = _year(year_text) if year_text else None
    if month is None and year is None:
        raise InvalidInput("month", "", "is required: the month paid for, as YYYY-MM")
    first = month or Month(year or 0, 1)
    through = month or Month(year or 0, 12)
    return str(first), str(through), str(month) if month else None, year


def _insurances(written: str) -> str:
    return ",".join(normalize_insurances(i.strip() for i in written.split(",") if i.strip()))


def _base_fen(written: str) -> int:
    return yuan_to_fen(written, field="base")


def _received_on(written: str) -> str:
    return parse_date(written, field="received_on").isoformat()


class _RowParser:
    """Each row's own fields, as the staging table holds them (memoized per distinct text)."""

    def __init__(self, today: dt.date) -> None:
        self.today = today.isoformat()
        self.period = _Memo(_period)
        self.insurances = _Memo(_insurances)
        self.base_fen = _Memo(_base_fen)
        self.received_on = _Memo(_received_on)

    def __call__(self, number: int, cells: dict[str, str]) -> Row:
        id_number = IdNumber.parse(cells["id_number"]).value
        first, through, month, year = self.period((cells.get("month", ""), cells.get("year", "")))
        insurances = self.insurances(cells["insurances"])
        base = cells.get("base", "")
        base_fen = self.base_fen(base) if base else None
        received = cells.get("received_on", "")
        received_on = self.received_on(received) if received else self.today
        ref = cells.get("ref", "") or None
        if ref is not None:
            fields.ref(ref, column=Contribution.key)
        return (
            number,
            id_number,
            first,
            through,
            month,
            year,
            received_on,
            base_fen,
            insurances,
            ref,
        )


def _parsed(rows: Iterable[SheetRow], refuse: Refuse, today: dt.date) -> Iterator[Row]:
    parsed = _RowParser(today)
    for number, cells in rows:
        try:
            yield parsed(number, cells)
        except YibaoError as error:
            refuse(row_error(number, cells, error))


def _year(written: str) -> int:
    if not written.isdigit() or not 1900 <= int(written) <= 9999:
        raise InvalidInput("year", written, "is not a year from 1900 to 9999")
    return int(written)


# -- step 2: each row against the registry and the payments recorded -----------------------------
# Each staged row with its person, the scheme on the day received and the employer: joined once
# for the whole file (a join per chunk would read the person and enrollment tables each time)
# into JOINED, read back chunk by chunk in row order. The enrollment is chosen in a subquery
# that PostgreSQL is kept from flattening (OFFSET 0): flattened, it chose it twice a row.
JOINED = "import_joined"
_ROWS = f"""
SELECT r.*, e.scheme, e.tier, e.employer_id, e.starts_on, emp.code AS employer_code
FROM (
  SELECT s.row_no, s.id_number, s.first_month, s.through_month, s.month, s.year, s.received_on,
         s.base_fen, s.insurances, s.ref, p.id AS person_id, p.name, p.area_code, p.birth_date,
         (SELECT e2.id FROM enrollment e2
          WHERE e2.person_id = p.id AND e2.starts_on <= s.received_on
            AND (e2.ends_on IS NULL OR e2.ends_on > s.received_on)
          ORDER BY e2.starts_on DESC, e2.id DESC LIMIT 1) AS enrollment_id
  FROM {STAGED} s LEFT JOIN person p ON p.id_number = s.id_number{{fence}}
) r
LEFT JOIN enrollment e ON e.id = r.enrollment_id
LEFT JOIN employer emp ON emp.id = e.employer_id
"""
# What a row meets besides its person, found for the whole file at once (each a join of the
# staged rows, or of JOINED once it holds their persons, scanned once rather than once a chunk)
# and read back chunk by chunk by row_no.
# A good file meets none of it, so these tables stay small.
MET = {
    "import_earlier": f"""
SELECT b.row_no, a.row_no AS earlier, a.insurances, a.ref, b.ref AS own_ref
FROM {STAGED} b JOIN {STAGED} a
  ON a.id_number = b.id_number AND a.row_no < b.row_no
 AND a.first_month <= b.through_month AND a.through_month >= b.first_month
""",
    "import_same_ref": f"""
SELECT b.row_no, min(a.row_no) AS earlier FROM {STAGED} b JOIN {STAGED} a
  ON a.ref = b.ref AND a.row_no < b.row_no
GROUP BY b.row_no
""",
    "import_recorded": f"""
SELECT j.row_no, c.id, c.key, c.month, c.through_month, c.insurances, c.received_on, c.base_fen
FROM {JOINED} j JOIN contribution c ON c.person_id = j.person_id
 AND c.month <= j.through_month AND c.through_month >= j.first_month
""",
    "import_recorded_ref": f"""
SELECT s.row_no, c.person_id, p.id_number FROM {STAGED} s JOIN contribution c ON c.key = s.ref
JOIN person p ON p.id = c.person_id
""",
}


def _met(name: str) -> str:
    """A chunk's rows of JOINED or a MET table, in row order, the earliest met first."""
    return f"SELECT * FROM {name} WHERE row_no > :low AND row_no <= :high ORDER BY 1, 2"


def _find_met(connection: Connection, postgres: bool) -> None:
    """Fill JOINED and the MET tables (after the payers are locked: nobody records meanwhile)."""
    temporary = "TEMPORARY" if postgres else "TEMP"
    ending = " ON COMMIT DROP" if postgres else ""
    joined = _ROWS.format(fence=" OFFSET 0" if postgres else "")
    for name, query in {JOINED: joined, **MET}.items():
        connection.exec_driver_sql(f"CREATE {temporary} TABLE {name}{ending} AS {query}")
        connection.exec_driver_sql(f"CREATE INDEX ix_{name} ON {name} (row_no)")
        if postgres:
            connection.exec_driver_sql(f"ANALYZE {name}")


# A chunk's joined rows, the file's earlier rows each meets, the earlier row with its ref, the
# payments recorded it meets, and the recorded payment holding its ref: all by row_no.
_Met = tuple[
    Sequence[Any], dict[int, list[Any]], dict[int, int], dict[int, list[Any]], dict[int, Any]
]


class _Judge:
    """Judges the staged rows chunk by chunk; yields the priced rows of the good ones."""

    def __init__(self, uow: UnitOfWork, refuse: Refuse, employer_code: str | None) -> None:
        self.uow, self.employer_code = uow, employer_code
        self._refuse = refuse
        self.refused = 0
        self.schedules: dict[str, PolicySchedule] = {}
        self.closed: dict[str, dt.date | None] = {}
        self.prices: dict[tuple[Any, ...], tuple[int | None, int, int, int]] = {}
        self.periods = _Memo(_months_paid)
        self.insurances = _Memo(_split)
        self.schemes = _Memo(Scheme)
        self.policies: dict[tuple[str, Month], Policy] = {}

    def refuse(self, error: RowError) -> None:
        self.refused += 1
        self._refuse(error)

    def met(self, connection: Connection, low: int, high: int) -> _Met:
        """What the chunk's rows meet, read in full: judging it then needs no query."""
        bounds = {"low": low, "high": high}
        rows = connection.execute(text(_met(JOINED)), bounds).all()
        earlier = _grouped(connection.execute(text(_met("import_earlier")), bounds))
        same_ref = {
            r.row_no: r.earlier for r in connection.execute(text(_met("import_same_ref")), bounds)
        }
        recorded = _grouped(connection.execute(text(_met("import_recorded")), bounds))
        ref_owner = {
            r.row_no: r for r in connection.execute(text(_met("import_recorded_ref")), bounds)
        }
        for area_code in {row.area_code for row in rows} - {None} - set(self.closed):
            self.closed[area_code] = closed_through(self.uow, area_code)
            self.schedules[area_code] = policy_schedule(uow=self.uow, area_code=area_code)
        return rows, earlier, same_ref, recorded, ref_owner

    def chunk(self, met: _Met) -> Iterator[Row]:
        rows, earlier, same_ref, recorded, ref_owner = met
        for row in rows:
            try:
                priced = self._judged(row, earlier, same_ref, recorded, ref_owner)
            except YibaoError as error:
                self.refuse(row_error(row.row_no, _cells(row), error))
                continue
            except _OutsideScope:
                self.refuse(
                    RowError(
                        row.row_no,
                        "id_number",
                        row.id_number,
                        f"is not an employee of {self.employer_code} on {row.received_on}: "
                        "an employer declares its own employees only",
                        outside_scope=True,
                        code="outside_scope",
                    )
                )
                continue
            if priced is not None:
                yield priced

    def _judged(
        self,
        row: Any,
        earlier: dict[int, list[Any]],
        same_ref: dict[int, int],
        recorded: dict[int, list[Any]],
        ref_owner: dict[int, Any],
    ) -> Row | None:
        if row.person_id is None:
            raise UnknownPerson(f"no insured person with ID number {mask(row.id_number)}")
        if row.scheme is None:  # no scheme on the day received: refused as the command is
            require_scheme(_label(row), None, _cmd(row))
        if self.employer_code is not None and row.employer_code != self.employer_code:
            raise _OutsideScope
        scheme = self.schemes(row.scheme)
        received_on = _day(row.received_on)
        first = self._first_month(scheme, row)
        refuse_closed(row.area_code, self.closed[row.area_code], received_on)
        insurances = self.insurances(row.insurances)
        for twin in earlier.get(row.row_no, ()):
            if set(twin.insurances.split(",")) & set(insurances):
                raise InvalidInput("id_number", row.id_number, f"repeats row {twin.earlier}")
        if row.row_no in same_ref:
            raise InvalidInput("ref", row.ref, f"repeats row {same_ref[row.row_no]}")
        key = row.ref or f"{row.person_id}:{row.first_month}:{received_on}:{row.insurances}"
        priced = self._priced(row, scheme, first, key, received_on)
        paid_before = recorded.get(row.row_no)
        if paid_before is None and row.row_no not in ref_owner:
            return priced  # a good file's every row
        paid_before = paid_before or []
        same_key = [paid for paid in paid_before if paid.key == key]
        if same_key or row.row_no in ref_owner:
            if same_key and _same_payment(same_key[0], priced):
                return None  # recorded before with this key and content: a retry
            raise Conflict(f"payment reference {key!r} was recorded with other content")
        refuse_repeated(_label(row), insurances, paid_before)
        return priced

    def _first_month(self, scheme: Scheme, row: Any) -> Month:
        """`months_paid` of the row: it reads the scheme, month, year and base (whose value
        only a refusal names, so any base above zero is the same to it)."""
        base = row.base_fen if row.base_fen is None or row.base_fen <= 0 else 1
        return self.periods((scheme, row.month, row.year, base))[0]

    def _policy(self, area_code: str, month: Month) -> Policy:
        policy = self.policies.get((area_code, month))
        if policy is None:  # the area's schedule was read with the chunk's rows (`met`)
            policy = self.policies[(area_code, month)] = self.schedules[area_code].for_month(month)
        return policy

    def _priced(self, row: Any, scheme: Scheme, first: Month, key: str, day: dt.date) -> Row:
        """The row as PRICED holds it; priced once for each distinct area, month, scheme,
        tier, base as clamped, age and insurances (a file repeats them: minimum bases, ages)."""
        policy = self._policy(row.area_code, first)
        birth = _day(row.birth_date)
        base_fen = row.base_fen or 0
        age = age_on(birth, first.first_day)
        memo = (row.area_code, first, scheme, row.tier, policy.clamp_base(base_fen), age)
        found = self.prices.get((memo, row.insurances))
        if found is None:
            priced = price_payment(
                policy=policy,
                month=first,
                scheme=scheme,
                tier=row.tier,
                base_fen=base_fen,
                insurances=tuple(row.insurances.split(",")),
                birth_date=birth,
            )
            found = (
                priced.base_fen,
                priced.medical_employer_fen,
                priced.medical_person_fen,
                priced.credit_fen,
            )
            if len(self.prices) > 100_000:
                self.prices.clear()  # memory stays flat over a long file
            self.prices[(memo, row.insurances)] = found
        stored_base, employer_fen, person_fen, credit_fen = found
        return (
            key,
            row.person_id,
            row.area_code,
            row.first_month,  # as `months_paid` gave them: staged from the same cells
            row.through_month,
            day.isoformat(),
            scheme.value,
            row.tier,
            row.employer_id,
            stored_base,
            row.insurances,
            employer_fen,
            person_fen,
            credit_fen,
        )


def _cmd(row: Any) -> ContributionCmd:
    """The row as the single payment command takes it."""
    return ContributionCmd(
        id_number=row.id_number,
        received_on=_day(row.received_on),
        insurances=tuple(row.insurances.split(",")),
        month=Month.parse(row.month) if row.month else None,
        year=row.year,
        base_fen=row.base_fen,
        key=row.ref,
    )


def _months_paid(given: tuple[Scheme, str | None, int | None, int | None]) -> tuple[Month, Month]:
    scheme, month, year, base_fen = given
    cmd = ContributionCmd(
        id_number="",
        received_on=dt.date.min,
        insurances=(),
        month=Month.parse(month) if month else None,
        year=year,
        base_fen=base_fen,
    )
    return months_paid(scheme, cmd)


def _split(insurances: str) -> tuple[str, ...]:
    return tuple(insurances.split(","))


def _label(row: Any) -> str:
    """The person as refusals name them (made only for a refusal: it builds a Person)."""
    return person_label(Person(name=row.name, id_number=row.id_number))


class _OutsideScope(Exception):
    pass


def _same_payment(paid: Any, priced: Row) -> bool:
    """The recorded payment is the one the row describes (as `record_contribution` compares)."""
    recorded = (
        paid.month,
        paid.through_month,
        _day(paid.received_on),
        paid.base_fen,
        paid.insurances,
    )
    given = (priced[3], priced[4], dt.date.fromisoformat(priced[5]), priced[9], priced[10])
    return recorded == given


def _grouped(result: Iterable[Any]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = defaultdict(list)
    for row in result:
        found[row.row_no].append(row)
    return found


def _cells(row: Any) -> dict[str, str]:
    return {
        "id_number": row.id_number,
        "month": row.month or "",
        "year": "" if row.year is None else str(row.year),
        "received_on": str(row.received_on),
        "base": "" if row.base_fen is None else str(row.base_fen / 100),
        "insurances": row.insurances,
        "ref": row.ref or "",
    }


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


# -- step 3: a judged chunk written -------------------------------------------------------------
def _apply(uow: UnitOfWork, connection: Connection) -> None:
    """The judged chunk in PRICED becomes contributions and their transfers; PRICED empties."""
    postgres = connection.dialect.name == "postgresql"
    if not postgres:
        names = ", ".join(PRICED_COLUMNS)
        connection.exec_driver_sql(
            f"INSERT INTO contribution ({names}) SELECT {names} FROM {PRICED}"
        )
    areas = [a for (a,) in connection.exec_driver_sql(f"SELECT DISTINCT area_code FROM {PRICED}")]
    for area in areas:
        debit, credit = accounts.contribution_income(area), accounts.pooled_fund(area)
        post_between(
            uow.session,
            debit=debit,
            debit_id=uow.ledger.account_id(debit),
            credit_id=uow.ledger.account_id(credit),
            rows=_added(area) if postgres else _recorded(area),
            kind=TransferKind.CONTRIBUTION,
        )
    connection.exec_driver_sql(f"{'TRUNCATE' if postgres else 'DELETE FROM'} {PRICED}")


_PRICED = table(PRICED, *(column(name) for name in PRICED_COLUMNS))
_CONTRIBUTIONS = cast(Table, Contribution.__table__)


def _added(area: str) -> Select[Any]:
    """PostgreSQL: the area's rows inserted as contributions in the statement that posts them
    (a data-modifying WITH), so each transfer takes its contribution's id from the insert
    itself, not by finding it again among all contributions by its key."""
    c = _CONTRIBUTIONS.c
    added = (
        insert(_CONTRIBUTIONS)
        .from_select(
            list(PRICED_COLUMNS),
            select(*_PRICED.c).where(_PRICED.c.area_code == area),
            include_defaults=False,
        )
        .returning(c.id, c.month, c.received_on, c.medical_employer_fen + c.medical_person_fen)
        .cte("added")
    )
    id_, month, received_on, amount = added.c
    return select(
        ("contribution:" + sql_cast(id_, String)).label("key"),
        amount.label("amount_fen"),
        received_on.label("value_date"),
        ("medical " + month).label("memo"),
    )


def _recorded(area: str) -> TextClause:
    """SQLite (no INSERT in a WITH clause): the contributions just inserted, found by key."""
    return text(
        "SELECT 'contribution:' || CAST(c.id AS VARCHAR(20)) AS key, "
        "c.medical_employer_fen + c.medical_person_fen AS amount_fen, "
        "c.received_on AS value_date, 'medical ' || c.month AS memo "
        f"FROM {PRICED} n JOIN contribution c ON c.key = n.key "
        "WHERE n.area_code = :area AND n.medical_employer_fen + n.medical_person_fen > 0"
    ).bindparams(area=area)


def _lock_payers(uow: UnitOfWork, connection: Connection) -> None:
    """Lock the file's areas (shared) and persons, as `record_contribution` locks one payer.

    A payment recorded for the same person and month while the file is judged would otherwise
    pass both checks and pay twice; in the single path's order (areas, then persons by id), so
    an import and a payment, or two imports, wait for each other and never deadlock.
    """
    areas = connection.exec_driver_sql(
        f"SELECT DISTINCT p.area_code FROM person p JOIN {STAGED} s ON s.id_number = p.id_number "
        "ORDER BY p.area_code"
    ).scalars()
    for area in list(areas):
        lock_area(uow, area, exclusive=False)
    connection.exec_driver_sql(
        f"SELECT p.id FROM person p WHERE p.id_number IN (SELECT id_number FROM {STAGED}) "
        "ORDER BY p.id FOR UPDATE OF p"
    )


def _create_staging(connection: Connection, postgres: bool) -> None:
    _drop_staging(connection)
    temporary = "TEMPORARY" if postgres else "TEMP"
    ending = " ON COMMIT DROP" if postgres else ""
    connection.exec_driver_sql(
        f"CREATE {temporary} TABLE {STAGED} (row_no BIGINT NOT NULL, id_number VARCHAR(18), "
        "first_month VARCHAR(7), through_month VARCHAR(7), month VARCHAR(7), year INTEGER, "
        "received_on DATE, base_fen BIGINT, insurances VARCHAR(80), ref VARCHAR(120))" + ending
    )
    connection.exec_driver_sql(
        f"CREATE {temporary} TABLE {PRICED} (key VARCHAR(120), person_id BIGINT, "
        "area_code VARCHAR(12), month VARCHAR(7), through_month VARCHAR(7), received_on DATE, "
        "scheme VARCHAR(12), tier VARCHAR(40), employer_id BIGINT, base_fen BIGINT, "
        "insurances VARCHAR(80), medical_employer_fen BIGINT, medical_person_fen BIGINT, "
        "credit_fen BIGINT)" + ending
    )


def _drop_staging(connection: Connection) -> None:
    for name in (JOINED, *MET):
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {STAGED}")
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {PRICED}")
