"""Settings: the one place that reads the environment."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIBAO_")

    database_url: str = "sqlite:///yibao.db"
    default_area: str = "420100"
    # Signs electronic card (QR) payloads; set YIBAO_CARD_SECRET in production.
    card_secret: str = "yibao-development-secret-change-me"
    electronic_card_seconds: int = 300


def load_settings(database_url: str | None = None) -> Settings:
    """Settings from the environment; an explicit `--db` wins over YIBAO_DATABASE_URL."""
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings
