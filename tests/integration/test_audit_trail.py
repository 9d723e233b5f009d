"""The audit trail: appended in the caller's transaction, read back, and verified on both backends;
`verify` names an entry changed, removed or reordered behind the application's back."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from yibao.adapters.db import downgrade, upgrade
from yibao.bootstrap import App
from yibao.domain.audit import CHAINS
from yibao.domain.idnumber import make_id_number
from yibao.services import audit
from yibao.services.audit import Actor, AuditEvent, BreakKind

PERSON = make_id_number("420102", dt.date(1990, 3, 7), 123)
OTHER = make_id_number("420102", dt.date(1985, 6, 1), 456)
CLERK = Actor("clerk-7", "clerk")
AUDITOR = Actor("auditor-1", "auditor")


def _event(n: int, *, actor: Actor = CLERK, person: str | None = PERSON) -> AuditEvent:
    return AuditEvent(actor, "inquiry", "web", person, f"balance:2024-03-{n % 28 + 1:02d}")


def _fill(app: App, count: int) -> None:
    """`count` entries, five to a transaction: each transaction keeps to one chain, and the
    transactions spread over the chains."""
    for start in range(0, count, 5):
        with app.uow() as uow:
            for n in range(start, min(start + 5, count)):
                audit.record(uow=uow, event=_event(n, person=PERSON if n % 2 else OTHER))


def _rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql), params).all())


def tamper(engine: Engine, sql: str, **params: Any) -> None:
    """As the tables' owner: on PostgreSQL with the append-only triggers lifted for this
    transaction only (migration 0015), as only the owner or a superuser can."""
    on_postgresql = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if on_postgresql:
            connection.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
            connection.execute(text("ALTER TABLE audit_chain DISABLE TRIGGER USER"))
        connection.execute(text(sql), params)
        if on_postgresql:
            connection.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER USER"))
            connection.execute(text("ALTER TABLE audit_chain ENABLE TRIGGER USER"))


def _chain_with_entries(engine: Engine, at_least: int) -> tuple[int, list[int]]:
    """A chain holding `at_least` entries, and their ids in order."""
    for (chain,) in _rows(
        engine, "SELECT chain FROM audit_entry GROUP BY chain ORDER BY count(*) DESC"
    ):
        ids = [
            r[0]
            for r in _rows(
                engine, "SELECT id FROM audit_entry WHERE chain = :c ORDER BY id", c=chain
            )
        ]
        if len(ids) >= at_least:
            return int(chain), ids
    raise AssertionError(f"no chain holds {at_least} entries")


def _verify(app: App) -> audit.AuditBreak | None:
    with app.uow() as uow:
        return audit.verify(uow=uow)


# -- recording and reading --------------------------------------------------------------------
def test_an_entry_is_read_back_as_recorded_newest_first(app: App) -> None:
    with app.uow() as uow:
        audit.record(uow=uow, event=_event(1))
        audit.record(uow=uow, event=AuditEvent(AUDITOR, "audit.show", "api", PERSON, "trail"))
    with app.uow() as uow:
        found = audit.entries(uow=uow, person=PERSON)
    assert [e.event for e in found] == [
        AuditEvent(AUDITOR, "audit.show", "api", PERSON, "trail", "ok"),
        _event(1),
    ]
    assert found[0].masked_person == PERSON[:4] + "*" * 10 + PERSON[-4:]
    assert found[0].recorded_at >= found[1].recorded_at
    assert found[0].chain == found[1].chain  # one transaction keeps to one chain
    assert found[0].seq == found[1].seq + 1
    assert _verify(app) is None


def test_entries_are_found_by_person_user_and_day(app: App) -> None:
    _fill(app, 6)
    with app.uow() as uow:
        audit.record(uow=uow, event=_event(9, actor=AUDITOR, person=PERSON.lower()))
        audit.record(uow=uow, event=AuditEvent(AUDITOR, "statements", "cli", None, "all"))
    with app.uow() as uow:
        mine = audit.entries(uow=uow, person=PERSON)
        others = audit.entries(uow=uow, person=OTHER)
        by_auditor = audit.entries(uow=uow, user=AUDITOR.user)
        both = audit.entries(uow=uow, person=PERSON, user=AUDITOR.user)
        today = audit.entries(uow=uow, day=dt.date.today())
        yesterday = audit.entries(uow=uow, day=dt.date.today() - dt.timedelta(days=1))
        two = audit.entries(uow=uow, limit=2)
    assert len(mine) == 4
    assert all(e.event.person == PERSON for e in mine)
    assert len(others) == 3
    assert [e.event.action for e in by_auditor] == ["statements", "inquiry"]
    assert len(both) == 1
    assert len(today) == 8
    assert yesterday == []
    assert [e.id for e in two] == [e.id for e in today[:2]]


def test_an_entry_stands_or_falls_with_its_transaction(app: App) -> None:
    def failing_call() -> None:
        with app.uow() as uow:
            audit.record(uow=uow, event=_event(1))
            raise RuntimeError("the service call failed after recording")

    with pytest.raises(RuntimeError):
        failing_call()
    audit.record_in_own_transaction(
        uow_factory=app.uow, event=AuditEvent(CLERK, "inquiry", "web", PERSON, "x", "wrong_pin")
    )
    with app.uow() as uow:
        found = audit.entries(uow=uow)
    assert [e.event.outcome for e in found] == ["wrong_pin"]
    assert _verify(app) is None  # the rolled-back append left no gap in its chain


def test_overlong_fields_are_clipped_not_refused(app: App) -> None:
    """A refusal of a garbled request is still recorded: what was refused may be anything."""
    event = AuditEvent(CLERK, "inquiry", "web", "4" * 500, "r" * 1000, "invalid_input")
    audit.record_in_own_transaction(uow_factory=app.uow, event=event)
    with app.uow() as uow:
        (entry,) = audit.entries(uow=uow)
    assert len(entry.event.person or "") == 40
    assert len(entry.event.resource) == 200
    assert _verify(app) is None


def test_a_new_database_has_every_chain_at_its_start(app: App) -> None:
    assert _rows(app.engine, "SELECT count(*), max(seq) FROM audit_chain") == [(CHAINS, 0)]
    assert _verify(app) is None


# -- verification ----------------------------------------------------------------------------
def test_a_changed_entry_is_named(app: App) -> None:
    _fill(app, 40)
    chain, ids = _chain_with_entries(app.engine, 2)
    tamper(app.engine, "UPDATE audit_entry SET outcome = 'denied' WHERE id = :i", i=ids[1])
    found = _verify(app)
    assert found is not None
    assert (found.kind, found.entry_id, found.chain) == (BreakKind.CHANGED, ids[1], chain)
    assert f"entry {ids[1]} " in found.detail


def test_a_changed_timestamp_or_actor_is_found_too(app: App) -> None:
    _fill(app, 10)
    (first,) = _rows(app.engine, "SELECT min(id) FROM audit_entry")[0]
    tamper(app.engine, "UPDATE audit_entry SET actor_user = 'someone-else' WHERE id = :i", i=first)
    found = _verify(app)
    assert found is not None
    assert (found.kind, found.entry_id) == (BreakKind.CHANGED, first)


def test_a_removed_entry_is_named_by_the_one_after_it(app: App) -> None:
    _fill(app, 40)
    chain, ids = _chain_with_entries(app.engine, 3)
    tamper(app.engine, "DELETE FROM audit_entry WHERE id = :i", i=ids[1])
    found = _verify(app)
    assert found is not None
    assert (found.kind, found.entry_id, found.chain, found.seq) == (
        BreakKind.REMOVED,
        ids[2],
        chain,
        2,
    )
    assert f"before entry {ids[2]}" in found.detail


def test_removing_the_last_entry_of_a_chain_is_found_by_its_head(app: App) -> None:
    _fill(app, 40)
    chain, ids = _chain_with_entries(app.engine, 2)
    tamper(app.engine, "DELETE FROM audit_entry WHERE id = :i", i=ids[-1])
    found = _verify(app)
    assert found is not None
    assert (found.kind, found.entry_id, found.chain, found.seq) == (
        BreakKind.REMOVED,
        None,
        chain,
        len(ids),
    )


def test_a_reordered_entry_is_named(app: App) -> None:
    """Two entries of a chain swap places (their ids), each with its own content and hash."""
    _fill(app, 40)
    chain, ids = _chain_with_entries(app.engine, 3)
    first, second = ids[0], ids[1]
    spare = int(_rows(app.engine, "SELECT max(id) FROM audit_entry")[0][0]) + 1000
    for old, new in ((first, spare), (second, first), (spare, second)):
        tamper(app.engine, "UPDATE audit_entry SET id = :n WHERE id = :o", n=new, o=old)
    found = _verify(app)
    assert found is not None
    assert (found.kind, found.entry_id, found.chain) == (BreakKind.REORDERED, first, chain)
    assert "reordered" in found.detail


def test_the_first_break_is_the_one_named(app: App) -> None:
    _fill(app, 30)
    ids = [r[0] for r in _rows(app.engine, "SELECT id FROM audit_entry ORDER BY id")]
    tamper(
        app.engine,
        "UPDATE audit_entry SET resource = 'x' WHERE id IN (:a, :b)",
        a=ids[20],
        b=ids[5],
    )
    found = _verify(app)
    assert found is not None
    assert found.entry_id == ids[5]


# -- PostgreSQL: append-only in the database ------------------------------------------------
CHAIN_OF_ENTRY = "(SELECT chain FROM audit_entry WHERE id = :i)"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entry SET outcome = 'ok' WHERE id = :i",
        "DELETE FROM audit_entry WHERE id = :i",
        "TRUNCATE audit_entry",
        f"UPDATE audit_chain SET seq = seq - 1 WHERE chain = {CHAIN_OF_ENTRY}",
        f"DELETE FROM audit_chain WHERE chain = {CHAIN_OF_ENTRY}",
        "TRUNCATE audit_chain",
    ],
    ids=["update", "delete", "truncate", "head-rewound", "head-deleted", "heads-truncated"],
)
def test_postgresql_refuses_to_rewrite_the_trail(pg_app: App, statement: str) -> None:
    _fill(pg_app, 5)
    (last,) = _rows(pg_app.engine, "SELECT max(id) FROM audit_entry")[0]
    with pytest.raises(DBAPIError, match="audit_"), pg_app.engine.begin() as connection:
        connection.execute(text(statement), {"i": last})
    assert _rows(pg_app.engine, "SELECT count(*) FROM audit_entry") == [(5,)]
    assert _verify(pg_app) is None


# -- PostgreSQL: concurrent appenders ----------------------------------------------------------
THREADS = 16
APPENDS_PER_THREAD = 25


def test_sixteen_concurrent_appenders_leave_chains_that_verify(pg_app: App) -> None:
    """16 threads, each on its own connection, append at once; half as POS sales do (statement
    by statement). In its first transaction each thread waits, holding the head it took, until
    all 16 hold one: appends that queued on one head would never get there (the barrier breaks).
    """
    barrier = threading.Barrier(THREADS, timeout=60)
    failures: list[BaseException] = []

    def append(number: int) -> None:
        try:
            for n in range(APPENDS_PER_THREAD):
                uow = pg_app.uow()
                if number % 2:
                    uow = uow.statement_by_statement()
                with uow:
                    audit.record(
                        uow=uow, event=_event(n, actor=Actor(f"pos-{number}", "institution"))
                    )
                    if n == 0 and not number % 2:
                        barrier.wait()
                if n == 0 and number % 2:
                    barrier.wait()
        except BaseException as error:  # re-raised in the main thread
            failures.append(error)
            barrier.abort()

    threads = [threading.Thread(target=append, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    rows = _rows(pg_app.engine, "SELECT count(*), count(DISTINCT chain) FROM audit_entry")
    assert rows[0][0] == THREADS * APPENDS_PER_THREAD
    assert rows[0][1] >= THREADS // 2  # spread over the chains, not queued on one
    assert _verify(pg_app) is None
    with pg_app.uow() as uow:
        assert len(audit.entries(uow=uow, user="pos-3", limit=1000)) == APPENDS_PER_THREAD


# -- migration 0015 ------------------------------------------------------------------------------
def test_the_inquiry_log_moves_into_the_trail_in_order_and_back(engine: Engine) -> None:
    downgrade(engine, "0013")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO area (code, name) VALUES ('420100', 'Wuhan')"))
        connection.execute(
            text(
                "INSERT INTO person (id_number, name, birth_date, sex, area_code) "
                "VALUES (:p, 'Zhang Wei', '1990-03-07', 'M', '420100')"
            ),
            {"p": PERSON},
        )
        for actor, channel, as_of, at in (
            ("cli:web", "web", "2024-03-01", "2024-03-02 10:00:00"),
            ("hotline", "hotline", "2024-03-05", "2024-03-05 11:30:00.250000"),
            ("cli:records", "records", "2024-04-01", "2024-04-01 09:00:00"),
        ):
            connection.execute(
                text(
                    "INSERT INTO inquiry_log (person_id, actor, channel, as_of, asked_at) "
                    "SELECT id, :a, :c, :d, :t FROM person"
                ),
                {"a": actor, "c": channel, "d": dt.date.fromisoformat(as_of), "t": at},
            )
    upgrade(engine)
    app = App(engine)
    with app.uow() as uow:
        moved = list(reversed(audit.entries(uow=uow, person=PERSON)))
    assert [
        (e.event.actor, e.event.action, e.event.channel, e.event.resource, e.recorded_at)
        for e in moved
    ] == [
        (
            Actor("cli:web", "legacy"),
            "inquiry",
            "web",
            "balance:2024-03-01",
            dt.datetime(2024, 3, 2, 10),
        ),
        (
            Actor("hotline", "legacy"),
            "inquiry",
            "hotline",
            "balance:2024-03-05",
            dt.datetime(2024, 3, 5, 11, 30, 0, 250_000),
        ),
        (
            Actor("cli:records", "legacy"),
            "payment_records",
            "records",
            "payment records",
            dt.datetime(2024, 4, 1, 9),
        ),
    ]
    assert {(e.chain, e.seq) for e in moved} == {(0, 1), (0, 2), (0, 3)}
    _fill(app, 5)  # new entries chain on from the moved ones
    assert _verify(app) is None

    downgrade(engine, "0013")
    back = _rows(engine, "SELECT actor, channel, as_of FROM inquiry_log ORDER BY id")
    assert len(back) == 3 + 2  # and the new inquiries of PERSON (OTHER has no person row)
    assert [(a, c, str(d)) for a, c, d in back[:3]] == [
        ("cli:web", "web", "2024-03-01"),
        ("hotline", "hotline", "2024-03-05"),
        ("cli:records", "records", "2024-04-01"),
    ]
    upgrade(engine)
    assert _verify(App(engine)) is None
