"""Serving the API under uvicorn: several worker processes on PostgreSQL, one on SQLite.

Each worker builds its application from the environment (`app_from_environment`, uvicorn's
factory): the database URL `serve` was given travels to the workers as YIBAO_DATABASE_URL.
Uvicorn shuts down gracefully on SIGTERM or SIGINT: no new connections, requests in flight
finish (up to `GRACEFUL_SECONDS`), then each worker's lifespan ends (crediting threads joined,
the engine disposed).
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI

from yibao.bootstrap import bootstrap
from yibao.config import load_settings
from yibao.entrypoints.api.app import create_app

GRACEFUL_SECONDS = 10


def app_from_environment() -> FastAPI:
    settings = load_settings()
    return create_app(bootstrap(settings.database_url, migrate=False), settings)


def log_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's own lines as usual; the access log as one bare JSON line per request."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "json": {"format": "%(message)s"},
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level},
            "uvicorn.error": {"level": level},
            "yibao.access": {"handlers": ["access"], "level": level, "propagate": False},
        },
    }


def serve(*, database_url: str, host: str, port: int, workers: int, log_level: str) -> None:
    import uvicorn

    os.environ["YIBAO_DATABASE_URL"] = database_url  # what each worker's factory reads
    uvicorn.run(
        "yibao.entrypoints.api.server:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        access_log=False,  # the JSON access log replaces uvicorn's (it shows full paths)
        log_config=log_config(log_level.upper()),
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        proxy_headers=False,
    )
