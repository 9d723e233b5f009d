"""The web session: a cookie carrying the API's own revocable token, and CSRF tokens.

The cookie holds the access token `POST /api/v1/auth/token` issues, so logging out revokes it
exactly as the API's revoke does, and a disabled user's pages stop at once. Forms carry a CSRF
token bound to the session (an HMAC of the token's id), so a cross-site form cannot post; the
login form, before there is a session, uses a double-submit cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from yibao.bootstrap import App
from yibao.config import Settings
from yibao.entrypoints.api.deps import Caller
from yibao.services.accounts import Role
from yibao.services.accounts.tokens import InvalidToken, read_claims

SESSION_COOKIE = "yibao_session"
AREA_COOKIE = "yibao_area"  # one database per planning area: the area logged in to
LOGIN_CSRF_COOKIE = "yibao_login_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
WEB_CHANNEL = "web"

HOME_OF_ROLE = {
    Role.PERSON: "/",
    Role.EMPLOYER: "/employer",
    Role.CLERK: "/desk",
    Role.ADMIN: "/desk",
    Role.INSTITUTION: "/counter",
    Role.AUDITOR: "/auditor",
}


class LoginRequired(Exception):
    """No session, or one whose token expired or was revoked: the page sends to /login."""


class CsrfRefused(Exception):
    """A form posted without this session's CSRF token."""


def home_of(role: Role) -> str:
    return HOME_OF_ROLE.get(role, "/me")


def web_caller(request: Request) -> Caller:
    """The logged-in caller (signature and expiry checked here, revocation in the gate), on
    the database of the area the session logged in to where each area has its own: the
    token is known only there, so a session's area cookie changed by hand logs nobody in."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired()
    settings: Settings = request.app.state.settings
    app: App = request.app.state.yibao
    if app.area_apps:
        area = request.cookies.get(AREA_COOKIE, "")
        if area not in app.area_apps:
            raise LoginRequired()
        app = app.in_area(area)
    try:
        claims = read_claims(token=token, secret=settings.token_secret)
    except InvalidToken:
        raise LoginRequired() from None
    return Caller(claims, app, settings, request.scope, channel=WEB_CHANNEL)


def csrf_token(caller: Caller) -> str:
    """The session's CSRF token: without the server's key it cannot be made from the cookie."""
    key = caller.settings.token_secret.encode()
    return hmac.new(key, f"csrf:{caller.token_id}".encode(), hashlib.sha256).hexdigest()[:40]


async def posted_by(request: Request) -> Caller:
    """The caller of a form post, refused unless the form (or htmx header) has its CSRF token."""
    caller = web_caller(request)
    form = await request.form()
    given = str(form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or "")
    if not hmac.compare_digest(given, csrf_token(caller)):
        raise CsrfRefused()
    return caller


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def login_csrf_matches(request: Request, given: str) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    return bool(cookie) and hmac.compare_digest(cookie, given)


def secure(request: Request) -> bool:
    """Mark cookies Secure when the page is served over https."""
    return request.url.scheme == "https"
