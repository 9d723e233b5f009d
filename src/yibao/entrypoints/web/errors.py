"""Errors on a page: a domain error becomes a page naming it, with the API's HTTP status.

A missing or expired session sends the browser to /login (htmx is told with HX-Redirect); a
form without its CSRF token is refused with 403 and nothing done.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from yibao.domain.errors import InvalidInput, YibaoError
from yibao.entrypoints.api.problems import status_of
from yibao.entrypoints.web.render import page
from yibao.entrypoints.web.session import CsrfRefused, LoginRequired
from yibao.services.accounts.tokens import InvalidToken

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def to_login(request: Request) -> Response:
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": "/login"})
    return RedirectResponse("/login", status_code=303)


class WebRoute(APIRoute):
    """A page route: errors are answered as pages, not as problem+json."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except (LoginRequired, InvalidToken):
                return to_login(request)
            except CsrfRefused:
                return page(request, "error.html", status=403, code="csrf", message="")
            except YibaoError as error:
                field = error.field if isinstance(error, InvalidInput) else None
                status = status_of(error)
                # a refusal of access says nothing about the record asked for
                message = "" if status == 403 else error.message
                return page(
                    request,
                    "error.html",
                    status=status,
                    code=error.code,
                    message=message,
                    field=field,
                )

        return answer
