"""9001 sign-in and 9002 sign-out of an operator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yibao.entrypoints.national.context import Context, Output
from yibao.entrypoints.national.envelope import TIME_FORMAT, section, text
from yibao.services.national import signin
from yibao.services.uow import UnitOfWork


def sign_in(ctx: Context, uow: UnitOfWork, data: Mapping[str, Any]) -> Output:
    given = section(data, "signIn")
    sign_no = signin.sign_in(
        uow=uow, caller=ctx.caller, opter_no=text(given, "opter_no"), now=ctx.now
    )
    return {"signinoutb": {"sign_time": ctx.now.strftime(TIME_FORMAT), "sign_no": sign_no}}


def sign_out(ctx: Context, uow: UnitOfWork, data: Mapping[str, Any]) -> Output:
    given = section(data, "signOut")
    signin.sign_out(uow=uow, caller=ctx.caller, sign_no=text(given, "sign_no"), now=ctx.now)
    return {"signoutoutb": {"sign_time": ctx.now.strftime(TIME_FORMAT)}}
