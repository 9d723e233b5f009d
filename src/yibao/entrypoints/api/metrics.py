"""Prometheus metrics of the server: requests, latency, settlements, crediting, the pool.

`yibao serve --workers N` runs N processes; prometheus-client's multiprocess mode has each
write its figures to files in PROMETHEUS_MULTIPROC_DIR (set by `serve` before the workers
start), and a scrape sums them. Requests are labelled by route template
(`/api/v1/persons/{id_number}/inquiry`), never by path: a path may hold an ID number, and one
label set per person would grow without bound.

Per request the cost is one counter increment and one histogram observation (a few
microseconds); the pool gauge moves on each connection checkout and checkin.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import Engine, event

from yibao.config import Settings
from yibao.domain.errors import YibaoError

REQUESTS = Counter(
    "yibao_http_requests_total", "HTTP requests answered", ["route", "method", "status"]
)
LATENCY = Histogram(
    "yibao_http_request_seconds",
    "Time to answer an HTTP request",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SETTLEMENTS = Counter(
    "yibao_settlements_total",
    "Settlements asked for, by channel and outcome (settled, or the refusal's code)",
    ["channel", "outcome"],
)
SETTLED_FEN = Counter("yibao_settled_fen_total", "Total of the bills settled, in fen", ["channel"])
PERSONS_CREDITED = Counter(
    "yibao_crediting_persons_total", "Persons done by crediting runs started in this server"
)
RUNS_IN_PROGRESS = Gauge(
    "yibao_crediting_runs_in_progress",
    "Crediting runs running in this server",
    multiprocess_mode="livesum",
)
POOL_CHECKED_OUT = Gauge(
    "yibao_db_pool_checked_out",
    "Database connections checked out of the pools",
    multiprocess_mode="livesum",
)
UNMATCHED = "unmatched"  # a request no route answered: one label, whatever its path
_LIVE_FILE = re.compile(r"^gauge_live\w*_(\d+)\.db$")
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def record_request(scope: Any, status: int, seconds: float) -> None:
    """Count one HTTP request by route template and status, and its duration (`AccessLog`
    measures each request once for its log line and for these)."""
    route = route_template(scope)
    REQUESTS.labels(route, scope["method"], status).inc()
    LATENCY.labels(route).observe(seconds)


def route_template(scope: Any) -> str:
    """`/api/v1/persons/{id_number}/inquiry` for `/api/v1/persons/4201.../inquiry`.

    The path with each path parameter's segment put back as its name (the matched route's own
    path lacks the prefix of the router it was included with); `unmatched` if no route matched.
    """
    if scope.get("route") is None:
        return UNMATCHED
    path: str = scope["path"]
    params = scope.get("path_params")
    if not params:
        return path
    names = {str(value): name for name, value in params.items()}
    segments = ["{" + names[part] + "}" if part in names else part for part in path.split("/")]
    template = "/".join(segments)
    for value, name in names.items():  # a parameter spanning segments (a static file's path)
        if "/" in value and template.endswith("/" + value):
            template = template[: -len(value)] + "{" + name + "}"
    return template


@contextmanager
def settlement(channel: str) -> Iterator[SettledTotal]:
    """Count one settlement: `settled` with its total if the block ends, else the refusal's
    code (a crash counts as `error`)."""
    total = SettledTotal()
    try:
        yield total
    except YibaoError as error:
        SETTLEMENTS.labels(channel, error.code).inc()
        raise
    except Exception:
        SETTLEMENTS.labels(channel, "error").inc()
        raise
    if total.fen is not None:  # None: a copy of a settled message, answered, not counted
        SETTLEMENTS.labels(channel, "settled").inc()
        SETTLED_FEN.labels(channel).inc(total.fen)


class SettledTotal:
    fen: int | None = None


def watch_pool(engine: Engine) -> None:
    """Move the pool gauge as this engine's connections are checked out and in."""
    if engine.dialect.name == "sqlite":
        return
    event.listen(engine, "checkout", lambda *_: POOL_CHECKED_OUT.inc())
    event.listen(engine, "checkin", lambda *_: POOL_CHECKED_OUT.dec())


def crediting_started() -> None:
    RUNS_IN_PROGRESS.inc()


def crediting_stopped() -> None:
    RUNS_IN_PROGRESS.dec()


def persons_credited(count: int) -> None:
    if count > 0:
        PERSONS_CREDITED.inc(count)


def may_read(settings: Settings, client_host: str | None) -> bool:
    """Whether this client may read /metrics (Settings.metrics)."""
    if settings.metrics == "open":
        return True
    return settings.metrics == "loopback" and client_host in LOOPBACK


def exposition(settings: Settings) -> tuple[bytes, str]:
    """The text format: summed over the worker processes in multiprocess mode."""
    folder = settings.prometheus_multiproc_dir
    if not folder:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    _forget_dead_workers(Path(folder))
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


def _forget_dead_workers(folder: Path) -> None:
    """A killed worker's live gauges (pool, runs) would count forever: drop them.

    Its counters stay, as counters must."""
    for file in folder.glob("gauge_live*.db"):
        found = _LIVE_FILE.match(file.name)
        if found and not _alive(int(found[1])):
            multiprocess.mark_process_dead(int(found[1]), path=str(folder))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
