"""GET /metrics: the Prometheus text format, without a login, to whom Settings.metrics allows
(loopback clients by default). Others get 404, as if there were nothing there."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from yibao.entrypoints.api import metrics
from yibao.entrypoints.api.deps import SettingsDep
from yibao.entrypoints.api.problems import problem

api = APIRouter(include_in_schema=False)


@api.get("/metrics")
def read_metrics(request: Request, settings: SettingsDep) -> Response:
    client = request.client.host if request.client else None
    if not metrics.may_read(settings, client):
        refused: JSONResponse = problem(404, "not_found", "Not Found")
        return refused
    body, media_type = metrics.exposition(settings)
    return Response(body, media_type=media_type)
