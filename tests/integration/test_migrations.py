"""Migrations step back and forward again on both backends, and the ORM models match them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, ForeignKeyConstraint, Index, MetaData, UniqueConstraint, text

from tests.integration.tampering import make_history
from yibao.adapters.db import downgrade, upgrade
from yibao.adapters.tables import Base
from yibao.bootstrap import App
from yibao.ledger import keys
from yibao.ledger.check import check_ledger


def _has_post_settlement(engine: Engine) -> bool:
    """Whether the schema the engine works in holds the function (PostgreSQL only)."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as connection:
        found = connection.execute(
            text(
                "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE p.proname = 'post_settlement' AND n.nspname = current_schema()"
            )
        ).scalar_one()
    return bool(found)


def test_the_settlement_function_comes_and_goes_with_its_migration(engine: Engine) -> None:
    on_postgresql = engine.dialect.name == "postgresql"
    assert _has_post_settlement(engine) == on_postgresql

    downgrade(engine, "0006")
    assert not _has_post_settlement(engine)

    upgrade(engine)
    assert _has_post_settlement(engine) == on_postgresql


def test_the_balances_accounts_keep_are_counted_from_the_ledger_they_join(engine: Engine) -> None:
    """Migration 0029 on a ledger with history: every kept balance is what the transfers sum to."""
    make_history(engine)
    downgrade(engine, "0028")
    upgrade(engine)
    with App(engine).uow() as uow:
        assert check_ledger(uow.ledger) == []
        kept = uow.session.execute(
            text("SELECT count(*) FROM ledger_account WHERE balance_fen IS NOT NULL")
        ).scalar_one()
        assert (
            kept
            == uow.session.execute(
                text("SELECT count(*) FROM ledger_account WHERE kind IN ('personal', 'financial')")
            ).scalar_one()
        )
        assert kept > 0


def test_the_orm_models_match_the_migrated_schema(engine: Engine) -> None:
    """adapters/tables.py and the migrations describe the same tables, columns and indexes."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": _not_a_partition})
        differences = compare_metadata(context, _expected(engine))
    assert differences == []


def _expected(engine: Engine) -> MetaData:
    """The models; on PostgreSQL with ledger_transfer partitioned (migration 0025): its key and
    reversal unique in ledger_key instead, no foreign key into it, reversals indexed alone."""
    if engine.dialect.name != "postgresql":
        return Base.metadata
    metadata = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in (*Base.metadata.tables.values(), keys.K):
        table.to_metadata(metadata)
    transfer = metadata.tables["ledger_transfer"]
    for constraint in list(transfer.constraints):
        if isinstance(constraint, UniqueConstraint | ForeignKeyConstraint):
            transfer.constraints.discard(constraint)
    transfer.c.reverses_id.foreign_keys.clear()
    Index(
        "ix_ledger_transfer_reverses_id",
        transfer.c.reverses_id,
        postgresql_where=transfer.c.reverses_id.is_not(None),
    )
    return metadata


def _not_a_partition(item: object, name: str | None, kind: str, *_: object) -> bool:
    """The monthly partitions are made by the ledger as it goes (ledger.partitions)."""
    table = item if kind == "table" else getattr(item, "table", None)
    table_name = name if kind == "table" else getattr(table, "name", "")
    return not str(table_name).startswith("ledger_transfer_")


def test_the_retirees_index_carries_what_a_crediting_run_reads_of_them(engine: Engine) -> None:
    """Migration 0034: on PostgreSQL the run reads each retiree from the index alone (its plan
    an Index Only Scan once the pages are all-visible); downgraded, the index is as it was."""
    if engine.dialect.name != "postgresql":
        return

    def plan() -> str:
        with engine.connect() as connection:
            connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            return "\n".join(
                str(row[0])
                for row in connection.exec_driver_sql(
                    "EXPLAIN SELECT min(id), person_id FROM enrollment WHERE area_code = '420100'"
                    " AND scheme = 'retiree' AND starts_on <= '2024-01-31'"
                    " AND (ends_on IS NULL OR ends_on > '2024-01-31') GROUP BY person_id"
                )
            )

    assert "Index Only Scan using ix_enrollment_scheme" in plan()
    downgrade(engine, "0033")
    assert "Index Only Scan" not in plan()
    upgrade(engine)
    assert "Index Only Scan using ix_enrollment_scheme" in plan()
