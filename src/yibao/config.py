"""Settings: the one place that reads the environment."""

from __future__ import annotations

from typing import Literal

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
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    settings.require_real_keys()
    return settings
