"""What routes depend on, as Annotated aliases: the application, the caller, the retry key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer

from yibao.bootstrap import App
from yibao.config import Settings
from yibao.services.accounts import User
from yibao.services.accounts.tokens import InvalidToken, token_user

TOKEN_URL = "/api/v1/auth/token"
oauth2 = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling (the token's user) and what the call runs on."""

    user: User
    token_id: str
    app: App
    settings: Settings


def get_app(request: Request) -> App:
    app: App = request.app.state.yibao
    return app


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppDep = Annotated[App, Depends(get_app)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_caller(
    request: Request,
    app: AppDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2)],
) -> Caller:
    if not token:
        raise InvalidToken("log in first: POST /api/v1/auth/token, then send the bearer token")
    with app.uow() as uow:
        user, token_id = token_user(uow=uow, token=token, secret=settings.token_secret)
    request.scope.setdefault("state", {})["user"] = f"{user.role}:{user.name}"
    return Caller(user, token_id, app, settings)


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
