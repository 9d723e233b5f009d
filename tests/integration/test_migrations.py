"""Migrations step back and forward again on both backends, and the ORM models match them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

from yibao.adapters.db import downgrade, upgrade
from yibao.adapters.tables import Base


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


def test_the_orm_models_match_the_migrated_schema(engine: Engine) -> None:
    """adapters/tables.py and the migrations describe the same tables, columns and indexes."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
