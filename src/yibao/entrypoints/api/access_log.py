"""One JSON line per request on the `yibao.access` logger, with ID numbers masked.

A path or query may carry an ID number (`/persons/420102199003071232/inquiry`): every
18-character ID-number shape in them is masked before the line is written.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from yibao.domain.idnumber import mask
from yibao.entrypoints.api.metrics import record_request

logger = logging.getLogger("yibao.access")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def masked(text: str) -> str:
    return _ID_NUMBER.sub(lambda found: mask(found.group(0)), text)


class AccessLog:
    """ASGI middleware: each HTTP request measured once, for its log line (method, path, status,
    duration, user) and for the request metrics."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            record_request(scope, status[0], seconds)
            if logger.isEnabledFor(logging.INFO):
                logger.info(_line(scope, status[0], seconds))


def _line(scope: Any, status: int, seconds: float) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    client = scope.get("client") or ("", 0)
    return json.dumps(
        {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "method": scope.get("method"),
            "path": masked(scope.get("path", "")),
            "query": masked(query) or None,
            "status": status,
            "ms": round(seconds * 1000, 2),
            "user": scope.get("state", {}).get("user"),
            "client": client[0],
        },
        ensure_ascii=False,
    )
