"""One router module per audience: login, the person, the employer, the desk, the counter, audit."""

from __future__ import annotations

from fastapi import APIRouter

from yibao.entrypoints.web.errors import WebRoute


def router() -> APIRouter:
    return APIRouter(route_class=WebRoute, include_in_schema=False)
