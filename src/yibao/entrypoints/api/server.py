"""Serving the API under uvicorn: several worker processes on PostgreSQL, one on SQLite.

Each worker builds its application from the environment (`app_from_environment`, uvicorn's
factory): the database URL `serve` was given travels to the workers as YIBAO_DATABASE_URL.
Uvicorn shuts down gracefully on SIGTERM or SIGINT: no new connections, requests in flight
finish (up to `GRACEFUL_SECONDS`), then each worker's lifespan ends (crediting threads joined,
the engine disposed).

With several workers each listens on a socket of its own (SO_REUSEPORT), so the kernel spreads
connections evenly over them; on one shared socket the worker that happens to be idle when
connections arrive takes most of them, and clients behind it wait on a busy worker. The
supervisor opens the sockets, one per worker: connections made while a worker still starts
(or restarts) wait in its socket's queue rather than all going to the first worker up.
"""

from __future__ import annotations

import gc
import itertools
import os
import socket
import sys
from collections.abc import Iterator
from typing import Any, ClassVar

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import multiprocess

from yibao.bootstrap import bootstrap
from yibao.config import load_settings
from yibao.entrypoints.api.app import create_app

GRACEFUL_SECONDS = 10


def app_from_environment() -> FastAPI:
    settings = load_settings()
    api = create_app(bootstrap(settings.database_url, migrate=False), settings)
    # What the worker holds for its lifetime (modules, routes, compiled statements) is
    # moved out of the collector's sight: full collections stop walking it on every request.
    gc.collect()
    gc.freeze()
    return api


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
    os.environ["YIBAO_DATABASE_URL"] = database_url  # what each worker's factory reads
    config = uvicorn.Config(
        "yibao.entrypoints.api.server:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # the JSON access log replaces uvicorn's (it shows full paths)
        log_config=log_config(log_level.upper()),
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        proxy_headers=False,
    )
    if workers <= 1:
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            sys.exit(STARTUP_FAILURE)
        return
    sockets = _listening_sockets(host, port, workers, backlog=config.backlog)
    try:
        # uvicorn's supervisor (restarts, signals, graceful stop) with workers that each
        # listen on one of the sockets: it makes its workers by this module-level name.
        multiprocess.Process = _WorkerWithItsOwnSocket  # type: ignore[misc]
        multiprocess.Multiprocess(config, sockets=sockets).run()
    finally:
        for sock in sockets:
            sock.close()


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _listening_sockets(host: str, port: int, count: int, *, backlog: int) -> list[socket.socket]:
    """One listening SO_REUSEPORT socket per worker; a port taken by another program ends
    `serve` before any worker starts."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(_listening_socket(host, port))
            sockets[-1].listen(backlog)
            sockets[-1].set_inheritable(True)
    except OSError as error:
        for sock in sockets:
            sock.close()
        sys.exit(f"cannot listen on {host}:{port}: {error.strerror}")
    return sockets


class _WorkerWithItsOwnSocket(multiprocess.Process):
    """A uvicorn worker given one of the supervisor's sockets: the one of a worker that has
    ended (a restart), else a socket no worker has yet; if every socket is held (a rolling
    restart, an extra worker), the longest-held one, whose worker is the next to go."""

    _holders: ClassVar[dict[int, _WorkerWithItsOwnSocket]] = {}
    _born: ClassVar[Iterator[int]] = itertools.count()

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        slot = self._slot(len(sockets))
        self.born = next(self._born)
        self._holders[slot] = self
        super().__init__(config, [sockets[slot]])

    @classmethod
    def _slot(cls, count: int) -> int:
        for slot in range(count):
            holder = cls._holders.get(slot)
            if holder is None or holder.process.exitcode is not None:
                return slot
        return min(range(count), key=lambda slot: cls._holders[slot].born)
