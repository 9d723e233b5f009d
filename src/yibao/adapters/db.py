"""Engines for SQLite and PostgreSQL, and the migrations that build their schema."""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, func, make_url, select, text
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session

from yibao.adapters.tables import Base
from yibao.domain.errors import InvalidInput

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_URL_SHAPES = "sqlite:///FILE or postgresql://USER@HOST:PORT/DATABASE"
_REVISION = re.compile(r"^revision\b[^=]*=\s*(.+)$", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\b[^=]*=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")


def normalize_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use psycopg 3 for them."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def check_url(url: str) -> str:
    """A SQLite or PostgreSQL URL, normalized; anything else is refused naming the URL."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput("db", url, f"is not a database URL ({_URL_SHAPES})") from None
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise InvalidInput(
            "db", shown_url(url), f"is not a SQLite or PostgreSQL URL ({_URL_SHAPES})"
        )
    on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, ":memory:")
    folder = Path(parsed.database or "").parent
    if on_disk and not folder.is_dir():
        raise InvalidInput("db", shown_url(url), f"names a folder that does not exist: {folder}")
    return url


def shown_url(url: str) -> str:
    """The URL as an error message may show it: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def check_connection(engine: Engine) -> None:
    """Connect once, so an unreachable server or unopenable file is one clear refusal."""
    try:
        with engine.connect():
            pass
    except OperationalError as error:
        problem = str(error.orig or error).strip().splitlines()[0]
        shown = engine.url.render_as_string(hide_password=True)
        raise InvalidInput("db", shown, f"cannot be opened: {problem}") from None


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = check_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _make_sqlite_transactions_immediate(engine)
        return engine
    kwargs.setdefault("pool_size", 40)  # enough for 32 concurrent clients in the benchmarks
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


def _make_sqlite_transactions_immediate(engine: Engine) -> None:
    """Every SQLite transaction takes the write lock at BEGIN, so no two writers interleave."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below take over
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # Alembic is imported only when migrating: it is slow

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` with the same migrations on every backend."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def upgrade_unless_current(engine: Engine) -> None:
    """Migrate to head, skipping Alembic when the database already stands there.

    Every CLI command opens the database this way; loading Alembic and its migration scripts
    would cost most of a clerk's one-line command. Anything unclear means: run Alembic.
    """
    heads = _head_revisions()
    if heads is None or _stamped_revisions(engine) != heads:
        upgrade(engine)


def schema_behind(engine: Engine) -> str | None:
    """Why the database is not at the migrations' head (None: it is). Connects once; a
    database that cannot be reached raises DBAPIError."""
    heads = _head_revisions()
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    stamped = _stamped_revisions(engine)
    if heads is None or stamped == heads:
        return None
    shown = ", ".join(sorted(stamped)) if stamped else "none (no schema)"
    return f"schema at revision {shown}, migrations at {', '.join(sorted(heads))}"


def _head_revisions() -> set[str] | None:
    """The heads of the migration scripts, read from their `revision`/`down_revision` lines."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        named = _QUOTED.findall(revision[1]) if revision else []
        if len(named) != 1 or down is None:
            return None
        revisions.add(named[0])
        parents.update(_QUOTED.findall(down[1]))
    return (revisions - parents) or None


def _stamped_revisions(engine: Engine) -> set[str] | None:
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:  # no alembic_version table yet: a new database
        return None
    return {str(row[0]) for row in rows}


# What the database says about its own use, not records: a refused inquiry into an empty
# database leaves an audit entry, and the chains' heads are there from the start.
_NOT_RECORDS = frozenset({"audit_chain", "audit_entry"})


def holds_records(engine: Engine) -> bool:
    """Whether any of yibao's tables has a row: a story is replayed only into an empty database."""
    with engine.connect() as connection:
        return any(
            connection.execute(select(1).select_from(table).limit(1)).first() is not None
            for table in Base.metadata.sorted_tables
            if table.name not in _NOT_RECORDS
        )


def sqlstate(error: DBAPIError) -> str | None:
    """PostgreSQL's SQLSTATE of a refused statement (None on SQLite, which has none)."""
    return getattr(getattr(error.orig, "diag", None), "sqlstate", None)


def insert_skipping_duplicates(engine_or_dialect_name: str, table: Any) -> Any:
    """An INSERT that silently skips rows whose unique key exists (ON CONFLICT DO NOTHING)."""
    if engine_or_dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def insert_counting(session: Session, statement: Any, amount: Any) -> tuple[int, int]:
    """Run an INSERT ... SELECT; returns (rows inserted, sum of `amount` over them).

    PostgreSQL counts and sums in the database, so one row comes back however many were
    inserted; SQLite cannot put an INSERT in a WITH clause, so its amounts come back and are
    summed here.
    """
    if session.get_bind().dialect.name == "postgresql":
        inserted = statement.returning(amount).cte("inserted")
        figures = select(func.count(), func.coalesce(func.sum(inserted.c[0]), 0))
        count, total = session.execute(figures).one()
        return int(count), int(total)
    amounts = session.execute(statement.returning(amount)).scalars().all()
    return len(amounts), sum(amounts)


def make_engine_in_schema(url: str, schema: str, **kwargs: Any) -> Engine:
    """A PostgreSQL engine whose connections see only `schema` (isolated replays and tests)."""
    return make_engine(url, connect_args={"options": f"-csearch_path={schema}"}, **kwargs)


@contextmanager
def scratch_database(url: str | None) -> Iterator[Engine]:
    """A fresh, empty, migrated database for one replay or test, removed afterwards.

    SQLite: a new file in a temporary folder. PostgreSQL: a new schema in the given database.
    """
    if url is None or normalize_url(url).startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="yibao-") as folder:
            engine = make_engine(f"sqlite:///{folder}/scratch.db")
            try:
                upgrade(engine)
                yield engine
            finally:
                engine.dispose()
        return
    schema = f"yibao_scratch_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=True)
    check_connection(admin)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    # Pooled connections are tried before they are lent: a test may restart PostgreSQL under
    # them (tests/faults). Not so on the served path, where the ping costs a sale a fifth of
    # its throughput; there a dropped connection fails one request with a 503 and is replaced.
    engine = make_engine_in_schema(url, schema, pool_pre_ping=True)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
