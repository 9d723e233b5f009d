"""Operators sign in (9001) and out (9002); every other message carries a valid sign_no."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import cast

from sqlalchemy import Table, bindparam, select, update

from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import NationalSignIn
from yibao.domain.errors import InvalidInput
from yibao.services.national import NationalRefusal
from yibao.services.national.gateway import Caller
from yibao.services.uow import UnitOfWork

SIGN = cast(Table, NationalSignIn.__table__)
_VALID = HotStatement(
    select(SIGN.c.sign_no).where(
        SIGN.c.sign_no == bindparam("sign_no"),
        SIGN.c.institution_id == bindparam("institution_id"),
        SIGN.c.signed_out_at.is_(None),
    )
)


def sign_in(*, uow: UnitOfWork, caller: Caller, opter_no: str, now: dt.datetime) -> str:
    """A new sign_no for the operator at the caller's institution."""
    if not opter_no or len(opter_no) > 30:
        raise InvalidInput("signIn.opter_no", opter_no, "must be 1 to 30 characters")
    sign_no = now.strftime("%Y%m%d%H%M%S") + secrets.token_hex(8)  # 30 characters
    uow.session.execute(
        SIGN.insert().values(
            sign_no=sign_no,
            institution_id=caller.institution_id,
            opter_no=opter_no,
            signed_in_at=_utc(now),
        )
    )
    return sign_no


def sign_out(*, uow: UnitOfWork, caller: Caller, sign_no: str, now: dt.datetime) -> None:
    done = uow.session.execute(
        update(SIGN)
        .where(
            SIGN.c.sign_no == sign_no,
            SIGN.c.institution_id == caller.institution_id,
            SIGN.c.signed_out_at.is_(None),
        )
        .values(signed_out_at=_utc(now))
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        raise InvalidInput("sign_no", sign_no, "is not a sign-in of this institution in force")


def _utc(now: dt.datetime) -> dt.datetime:
    """Stored as the other national tables store their times: naive UTC."""
    return now.astimezone(dt.UTC).replace(tzinfo=None)


def require_signed_in(*, uow: UnitOfWork, caller: Caller, sign_no: str | None) -> None:
    if not sign_no:
        raise NationalRefusal("sign_no: None is missing; sign in first (9001)")
    found = _VALID.scalar_or_none(
        uow.hot, {"sign_no": sign_no, "institution_id": caller.institution_id}
    )
    if found is None:
        raise NationalRefusal(
            f"sign_no: {sign_no[:40]!r} is not a sign-in of this institution in force; "
            "sign in first (9001)"
        )
