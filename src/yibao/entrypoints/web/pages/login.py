"""Logging in and out: the same password check and token as `POST /api/v1/auth/token`.

Where each planning area has its own database (YIBAO_AREA_DATABASES), logins are each area's
own, as the API's are: the form asks for the area, and the session keeps it in a cookie.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response
from fastapi.responses import RedirectResponse

from yibao.bootstrap import App
from yibao.config import Settings
from yibao.entrypoints.web.pages import router
from yibao.entrypoints.web.render import page
from yibao.entrypoints.web.session import (
    AREA_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    home_of,
    login_csrf_matches,
    new_login_csrf,
    posted_by,
    secure,
    web_caller,
)
from yibao.services.accounts.tokens import BadCredentials, TooManyLogins, log_in, revoke_token

web = router()


def _login_form(
    request: Request, *, status: int = 200, error: str = "", area: str = ""
) -> Response:
    token = new_login_csrf()
    response = page(
        request,
        "login.html",
        status=status,
        csrf=token,
        error=error,
        areas=_areas(request.app.state.yibao),
        chosen=area,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=secure(request)
    )
    return response


def _areas(app: App) -> list[tuple[str, str]]:
    """(code, name) of each area with a database of its own; none where there is one."""
    return [] if app.areas is None else list(app.areas.names().items())


@web.get("/login")
def login_form(request: Request) -> Response:
    return _login_form(request)


@web.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    area: Annotated[str, Form()] = "",
) -> Response:
    if not login_csrf_matches(request, csrf):
        return _login_form(request, status=403, error="csrf")
    app: App = request.app.state.yibao
    routed = bool(app.area_apps)  # each area has its own database, logins and tokens
    if routed:
        if area not in app.area_apps:
            return _login_form(request, status=422, error="area_required")
        app = app.in_area(area)
    settings: Settings = request.app.state.settings
    try:
        issued = log_in(
            uow_factory=app.uow,
            name=username,
            password=password,
            secret=settings.token_secret,
            seconds=settings.token_seconds,
        )
    except BadCredentials:
        return _login_form(request, status=401, error="bad_credentials", area=area)
    except TooManyLogins:
        return _login_form(request, status=429, error="too_many_attempts", area=area)
    response = RedirectResponse(home_of(issued.user.role), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        issued.access_token,
        max_age=settings.token_seconds,
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )
    if routed:
        response.set_cookie(
            AREA_COOKIE,
            area,
            max_age=settings.token_seconds,
            httponly=True,
            samesite="lax",
            secure=secure(request),
        )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@web.post("/logout")
async def logout(request: Request) -> Response:
    caller = await posted_by(request)
    with caller.app.uow() as uow:
        revoke_token(uow=uow, token_id=caller.token_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(AREA_COOKIE)
    return response


@web.get("/me")
def me(request: Request) -> Response:
    """The roles without pages of their own (bank, hotline) land here."""
    caller = web_caller(request)
    return page(request, "me.html", caller=caller)
