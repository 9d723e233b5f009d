"""The PostgreSQL settlement function the database holds is the ledger's versioned file."""

from __future__ import annotations

from sqlalchemy import Engine, text

from yibao.adapters.db import downgrade, upgrade
from yibao.ledger import settlement_function

_DEPLOYED = text(
    "SELECT p.prosrc, pg_get_function_identity_arguments(p.oid) FROM pg_proc p "
    "JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE p.proname = 'post_settlement' AND n.nspname = current_schema()"
)


def _deployed(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        return [(str(body), str(arguments)) for body, arguments in connection.execute(_DEPLOYED)]


def test_the_deployed_settlement_function_is_the_file_the_ledger_ships(pg_engine: Engine) -> None:
    [(body, arguments)] = _deployed(pg_engine)

    assert body == settlement_function.body()
    assert "p_today date" in arguments


def test_stepping_back_to_0007_restores_its_function_and_forward_installs_the_file(
    pg_engine: Engine,
) -> None:
    downgrade(pg_engine, "0007")
    [(body, arguments)] = _deployed(pg_engine)
    assert "p_today" not in arguments
    assert body != settlement_function.body()

    upgrade(pg_engine)
    assert _deployed(pg_engine)[0][0] == settlement_function.body()
