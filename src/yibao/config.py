"""Settings: the one place that reads the environment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from yibao.domain.cards import ELECTRONIC_CARD_SECONDS
from yibao.domain.errors import InvalidInput

# Known to everyone who has read this file: fit only for a development database.
DEVELOPMENT_CARD_SECRET = "yibao-development-secret-change-me"
DEVELOPMENT_PIN_PEPPER = "yibao-development-pepper-change-me"
DEVELOPMENT_TOKEN_SECRET = "yibao-development-token-key-change-me"
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIBAO_")

    database_url: str = "sqlite:///yibao.db"
    default_area: str = "420100"
    # `development` allows the keys below to stay the published development ones. Unset, a
    # SQLite database (a newcomer's, the demo's, the tests') is development and any other
    # database is production.
    env: Literal["development", "production"] | None = None
    # Signs electronic card (QR) payloads; production needs YIBAO_CARD_SECRET.
    card_secret: str = DEVELOPMENT_CARD_SECRET
    # Mixed into every PIN's hash, so a dumped hash cannot be tried offline without it;
    # production needs YIBAO_PIN_PEPPER.
    pin_pepper: str = DEVELOPMENT_PIN_PEPPER
    # How long an electronic card payload lives; one expiring later than this is refused.
    electronic_card_seconds: int = ELECTRONIC_CARD_SECONDS
    # Signs the API's access tokens; `yibao serve` outside development needs YIBAO_TOKEN_SECRET.
    token_secret: str = DEVELOPMENT_TOKEN_SECRET
    # How long an access token lives: short, so a stolen one is soon useless.
    token_seconds: int = 900
    # PostgreSQL connections each process keeps (pool) and may open beyond it (overflow):
    # `yibao serve` holds workers x (pool + overflow) at most; keep it under max_connections.
    db_pool_size: int = Field(40, ge=1)
    db_max_overflow: int = Field(10, ge=0)
    # `yibao serve` worker processes on PostgreSQL when --workers is not given (default: cores)
    workers: int | None = Field(None, ge=1)
    # Who may read GET /metrics (no login): `loopback` clients only, `open` to anyone who can
    # reach the port (a scraper on another host; the figures name no person), or `off`.
    metrics: Literal["loopback", "open", "off"] = "loopback"
    # prometheus-client's own variable: the folder where each worker process writes its
    # figures, summed at scrape time; `yibao serve` makes a fresh one when it is unset.
    prometheus_multiproc_dir: str | None = Field(None, validation_alias="PROMETHEUS_MULTIPROC_DIR")
    # A streaming replica (scripts/replica.sh) that serves inquiries, payment records,
    # transfers and statements; writes, and the audit entry of each read, go to the primary.
    replica_url: str | None = None
    # Beyond this lag the replica serves nothing and the reads go to the primary.
    replica_max_lag_seconds: float = 5.0
    # One database per planning area: a JSON map of area code to database URL
    # ({"420100": "postgresql://...", "110000": "postgresql://..."}); see services/areas.py.
    area_databases: str | None = None

    @property
    def development(self) -> bool:
        if self.env is not None:
            return self.env == "development"
        return self.database_url.startswith("sqlite")

    def require_real_keys(self) -> None:
        """Refuse to run outside development with a missing, published or short key."""
        if self.electronic_card_seconds <= 0:
            raise InvalidInput(
                "YIBAO_ELECTRONIC_CARD_SECONDS", self.electronic_card_seconds, "must be above 0"
            )
        self._require(
            ("YIBAO_CARD_SECRET", self.card_secret, DEVELOPMENT_CARD_SECRET),
            ("YIBAO_PIN_PEPPER", self.pin_pepper, DEVELOPMENT_PIN_PEPPER),
        )

    def require_token_key(self) -> None:
        """What serving the API needs on top: a real token key outside development."""
        if self.token_seconds <= 0:
            raise InvalidInput("YIBAO_TOKEN_SECONDS", self.token_seconds, "must be above 0")
        self._require(("YIBAO_TOKEN_SECRET", self.token_secret, DEVELOPMENT_TOKEN_SECRET))

    def _require(self, *keys: tuple[str, str, str]) -> None:
        if self.development:
            return
        for variable, value, published in keys:
            if value == published or len(value) < MIN_SECRET_LENGTH:
                shown = "(the development key)" if value == published else "(too short)"
                raise InvalidInput(
                    variable,
                    shown,
                    f"must be a secret of at least {MIN_SECRET_LENGTH} characters outside "
                    "development (set YIBAO_ENV=development only for a test database)",
                )


def load_settings(database_url: str | None = None) -> Settings:
    """Settings from the environment; an explicit `--db` wins over YIBAO_DATABASE_URL.

    Outside development the keys must be real ones (`Settings.require_real_keys`).
    """
    try:
        settings = Settings()
    except ValidationError as error:  # a malformed variable: named, never a traceback
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        variable = name if name.isupper() else f"YIBAO_{name.upper()}"
        raise InvalidInput(variable, first.get("input"), first["msg"]) from None
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    settings.require_real_keys()
    return settings
