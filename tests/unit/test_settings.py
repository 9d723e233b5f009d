"""Settings: outside development, yibao refuses to run with the published or a short key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from yibao import config
from yibao.config import DEVELOPMENT_CARD_SECRET, DEVELOPMENT_TOKEN_SECRET, load_settings
from yibao.domain.errors import InvalidInput

REAL_KEY = "k" * 32
PG = "postgresql://yibao@db.example/yibao"


@pytest.fixture(autouse=True)
def bare_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ENV",
        "CARD_SECRET",
        "PIN_PEPPER",
        "TOKEN_SECRET",
        "DATABASE_URL",
        "ELECTRONIC_CARD_SECONDS",
        "DB_POOL_SIZE",
        "DB_MAX_OVERFLOW",
        "WORKERS",
        "METRICS",
    ):
        monkeypatch.delenv(f"YIBAO_{name}", raising=False)


def test_a_sqlite_database_is_development_and_runs_with_the_development_keys() -> None:
    settings = load_settings("sqlite:///yibao.db")

    assert settings.development
    assert settings.card_secret == DEVELOPMENT_CARD_SECRET


def test_any_other_database_is_production_and_refuses_the_development_card_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("YIBAO_PIN_PEPPER", REAL_KEY)
    with pytest.raises(InvalidInput, match="YIBAO_CARD_SECRET") as refused:
        load_settings(PG)
    assert DEVELOPMENT_CARD_SECRET not in refused.value.message


def test_production_refuses_a_missing_pin_pepper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIBAO_CARD_SECRET", REAL_KEY)
    with pytest.raises(InvalidInput, match="YIBAO_PIN_PEPPER"):
        load_settings(PG)


def test_production_refuses_a_short_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIBAO_CARD_SECRET", "short-secret")
    monkeypatch.setenv("YIBAO_PIN_PEPPER", REAL_KEY)
    with pytest.raises(InvalidInput, match="at least 32 characters") as refused:
        load_settings(PG)
    assert "short-secret" not in refused.value.message


def test_a_declared_production_mode_applies_to_sqlite_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIBAO_ENV", "production")
    with pytest.raises(InvalidInput, match="YIBAO_CARD_SECRET"):
        load_settings("sqlite:///yibao.db")


def test_production_runs_with_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIBAO_CARD_SECRET", REAL_KEY)
    monkeypatch.setenv("YIBAO_PIN_PEPPER", "p" * 40)

    settings = load_settings(PG)

    assert not settings.development
    assert settings.card_secret == REAL_KEY


def test_a_declared_development_mode_runs_a_postgresql_database_with_the_development_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("YIBAO_ENV", "development")
    assert load_settings(PG).development


def test_an_electronic_card_lifetime_that_is_not_positive_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("YIBAO_ELECTRONIC_CARD_SECONDS", "0")
    with pytest.raises(InvalidInput, match="YIBAO_ELECTRONIC_CARD_SECONDS"):
        load_settings("sqlite:///yibao.db")


def test_production_refuses_the_development_or_a_short_token_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("YIBAO_CARD_SECRET", REAL_KEY)
    monkeypatch.setenv("YIBAO_PIN_PEPPER", REAL_KEY)
    monkeypatch.delenv("YIBAO_TOKEN_SECRET", raising=False)
    settings = load_settings(PG)
    with pytest.raises(InvalidInput, match="YIBAO_TOKEN_SECRET") as refused:
        settings.require_token_key()
    assert DEVELOPMENT_TOKEN_SECRET not in refused.value.message

    monkeypatch.setenv("YIBAO_TOKEN_SECRET", "too-short")
    with pytest.raises(InvalidInput, match="at least 32 characters"):
        load_settings(PG).require_token_key()

    monkeypatch.setenv("YIBAO_TOKEN_SECRET", REAL_KEY)
    load_settings(PG).require_token_key()


def test_the_production_start_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("YIBAO_DB_POOL_SIZE", "8")
    monkeypatch.setenv("YIBAO_DB_MAX_OVERFLOW", "2")
    monkeypatch.setenv("YIBAO_WORKERS", "4")
    monkeypatch.setenv("YIBAO_METRICS", "open")

    settings = load_settings("sqlite:///yibao.db")

    assert (settings.db_pool_size, settings.db_max_overflow, settings.workers) == (8, 2, 4)
    assert settings.metrics == "open"


@pytest.mark.parametrize(
    ("variable", "value"),
    [("YIBAO_DB_POOL_SIZE", "0"), ("YIBAO_WORKERS", "many"), ("YIBAO_METRICS", "public")],
)
def test_a_malformed_variable_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidInput, match=variable) as refused:
        load_settings("sqlite:///yibao.db")
    assert value in refused.value.message


def test_nothing_but_the_settings_reads_the_environment() -> None:
    """Settings is the one reader; the others only hand values to child processes."""
    source = Path(config.__file__).parent
    readers = {
        str(path.relative_to(source))
        for path in source.rglob("*.py")
        if re.search(r"os\.environ\.get|os\.getenv|environ\[[^\]]+\](?!\s*=)", path.read_text())
        or "dict(os.environ)" in path.read_text()
    }
    # backup hands the environment (with the connection added) to pg_dump and pg_restore
    assert readers == {"adapters/backup.py"}
