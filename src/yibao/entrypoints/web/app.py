"""The web pages on the API's FastAPI application: the page routers and the static files."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from yibao.entrypoints.web.pages import (
    auditor,
    counter,
    desk,
    desk_runs,
    employer,
    login,
    person,
)


def install(api: FastAPI) -> None:
    """Mount the pages beside /api/v1 (same app, same services, same access table)."""
    api.mount(
        "/static",
        StaticFiles(packages=[("yibao.entrypoints.web", "static")]),
        name="static",
    )
    for module in (login, person, employer, desk, desk_runs, counter, auditor):
        api.include_router(module.web)
