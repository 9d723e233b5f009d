"""What routes depend on, as Annotated aliases: the application, the caller, the retry key."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from yibao.bootstrap import App
from yibao.config import Settings
from yibao.entrypoints.api.area_routing import area_of_request, json_body
from yibao.services.accounts import User
from yibao.services.accounts.tokens import Claims, InvalidToken, holder, read_claims
from yibao.services.uow import UnitOfWork

TOKEN_URL = "/api/v1/auth/token"
oauth2 = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


@dataclass(slots=True)
class Caller:
    """Who is calling and what the call runs on.

    The token's signature and expiry are checked before the route runs; whether it was
    revoked (or its user disabled) is read in the request's own transaction, by the gate
    (`authenticate`), so a request is one transaction, not two.
    """

    claims: Claims
    app: App
    settings: Settings
    scope: MutableMapping[str, Any]
    _user: User | None = None
    channel: str = "api"  # how the call came, as the audit trail records it (api, web)

    @property
    def token_id(self) -> str:
        return self.claims.token_id

    def authenticate(self, uow: UnitOfWork) -> User:
        if self._user is None:
            self.authenticated_as(holder(uow=uow, claims=self.claims))
        assert self._user is not None
        return self._user

    def authenticated_as(self, user: User) -> None:
        """The user a gate read with the request's first statement (`tokens.require_in_force`)."""
        self._user = user
        self.scope.setdefault("state", {})["user"] = f"{user.role}:{user.name}"

    @property
    def authenticated(self) -> bool:
        return self._user is not None

    @property
    def user(self) -> User:
        """The caller's user, read in a transaction of its own if no gate has read it yet."""
        if self._user is None:
            with self.app.uow() as uow:
                self.authenticate(uow)
        assert self._user is not None
        return self._user


async def get_app(request: Request) -> App:
    app: App = request.app.state.yibao
    return app


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# The dependencies are coroutines: they do not block, and a plain function would be run on
# the thread pool, one hand-over per dependency per request.
AppDep = Annotated[App, Depends(get_app)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def area_app(request: Request, app: App) -> App:
    """The App of the request's planning area where each area has its own database
    (`area_routing`); the one App otherwise, with the body not read twice."""
    areas = app.areas
    if areas is None:
        return app
    body = await json_body(request)
    area = await run_in_threadpool(area_of_request, request, body, areas)  # database reads
    return app.in_area(area)


async def get_area_app(request: Request, app: AppDep) -> App:
    return await area_app(request, app)


AreaAppDep = Annotated[App, Depends(get_area_app)]


async def get_caller(
    request: Request,
    app: AppDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2)],
) -> Caller:
    """The token's signature first: a caller without one learns nothing, not even whether a
    person is insured in some area (the router's lookups come after)."""
    if not token:
        raise InvalidToken("log in first: POST /api/v1/auth/token, then send the bearer token")
    claims = read_claims(token=token, secret=settings.token_secret)
    return Caller(claims, await area_app(request, app), settings, request.scope)


CallerDep = Annotated[Caller, Depends(get_caller)]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="The caller's key for this request: a retry with it returns the first answer.",
    ),
]
