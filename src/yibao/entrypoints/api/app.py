"""The FastAPI application: `/api/v1`, its OpenAPI document and docs, over one `App`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from yibao.bootstrap import App
from yibao.config import Settings
from yibao.entrypoints.api import problems
from yibao.entrypoints.api.access_log import AccessLog
from yibao.entrypoints.api.crediting_jobs import CreditingJobs
from yibao.entrypoints.api.metrics import watch_pool
from yibao.entrypoints.api.routes import (
    areas,
    audit,
    auth,
    cards,
    contributions,
    crediting,
    employers,
    family,
    financial,
    health,
    imports,
    inquiry,
    institutions,
    ledger,
    metrics,
    persons,
    pos,
    records,
)
from yibao.entrypoints.national import router as national

PREFIX = "/api/v1"
# In the order a request's path is tried: the busiest first (a POS sale, an inquiry), so
# they are not matched against every other route before their own. No two overlap.
ROUTERS = (
    pos,
    inquiry,
    health,
    auth,
    areas,
    employers,
    institutions,
    persons,
    contributions,
    imports,
    crediting,
    cards,
    financial,
    family,
    records,
    ledger,
    audit,
)


def create_app(app: App, settings: Settings) -> FastAPI:
    """The API over `app`'s database; `settings` gives its keys (a real token key outside
    development, `Settings.require_token_key`)."""
    settings.require_token_key()

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        yield
        api.state.crediting_jobs.wait()  # graceful: running crediting batches finish
        app.dispose()

    api = FastAPI(
        title="yibao",
        version="1",
        summary="Social medical insurance personal accounts: registry, crediting, ledger, inquiry.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    api.state.yibao = app
    api.state.settings = settings
    api.state.crediting_jobs = CreditingJobs()
    problems.install(api)
    api.include_router(national.router)  # the national institution interface: one path
    for module in ROUTERS:
        api.include_router(module.api, prefix=PREFIX)
    api.include_router(metrics.api)  # /metrics, outside /api/v1 where scrapers look for it
    api.add_middleware(AccessLog)
    watch_pool(app.engine)
    from yibao.entrypoints.web.app import install as install_pages

    install_pages(api)  # the web pages (/, /login, ...) on the same services
    return api
