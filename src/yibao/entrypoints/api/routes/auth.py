"""Logging in (OAuth2 password flow), the caller's own account, and revoking a token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from yibao.entrypoints.api.deps import AreaAppDep, CallerDep, SettingsDep
from yibao.entrypoints.api.schemas import router
from yibao.services.accounts.tokens import log_in, revoke_token

api = router("auth")


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int  # seconds


class UserPublic(BaseModel):
    name: str
    role: str
    scope: str | None


@api.post("/auth/token")
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    app: AreaAppDep,
    settings: SettingsDep,
) -> TokenPublic:
    """Exchange a user name and password for a short-lived bearer token."""
    issued = log_in(
        uow_factory=app.uow,
        name=form.username,
        password=form.password,
        secret=settings.token_secret,
        seconds=settings.token_seconds,
    )
    return TokenPublic(access_token=issued.access_token, expires_in=settings.token_seconds)


@api.get("/auth/me")
def me(caller: CallerDep) -> UserPublic:
    user = caller.user
    return UserPublic(name=user.name, role=str(user.role), scope=user.scope)


@api.post("/auth/revoke", status_code=204)
def revoke(caller: CallerDep) -> Response:
    """Revoke the token this request carries: it stops working at once."""
    with caller.app.uow() as uow:
        revoke_token(uow=uow, token_id=caller.token_id)
    return Response(status_code=204)
