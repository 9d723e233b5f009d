"""A benchmark's own PostgreSQL schema: made (afresh, or kept for a rerun), migrated, dropped."""

from __future__ import annotations

from sqlalchemy import Engine

from yibao.adapters.db import make_engine, make_engine_in_schema, upgrade


def bench_engine(url: str, schema: str, *, fresh: bool = False) -> Engine:
    """An engine in `schema` at the migrations' head; `fresh` drops what a former run left."""
    if not schema.replace("_", "").isalnum():
        raise SystemExit(f"not a plain schema name: {schema!r}")
    admin = make_engine(url, pool_size=1, max_overflow=0)
    with admin.begin() as connection:
        if fresh:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    admin.dispose()
    engine = make_engine_in_schema(url, schema)
    upgrade(engine)
    return engine


def drop_schema(url: str, schema: str) -> None:
    admin = make_engine(url, pool_size=1, max_overflow=0)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()
