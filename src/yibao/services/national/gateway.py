"""The gateway's authentication of a designated institution: its paasid and token, the
x-tif signature, the timestamp's window and the nonce used once.

Each process keeps the credentials it read (`_KNOWN`), so a signed request costs one
statement: the nonce's use, written only while the credential still has the token the
signature was checked with. A rotated token thus works at once (a signature the kept token
does not match is checked again against the stored one) and the old one is refused at once
(its nonce is not written, and the stored token, read again, does not match).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import time
import weakref
from dataclasses import dataclass
from typing import cast

from sqlalchemy import BigInteger, Engine, String, Table, bindparam, delete, exists, select

from yibao.adapters.db import insert_skipping_duplicates
from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import GatewayNonce, Institution, InstitutionCredential
from yibao.domain.errors import YibaoError
from yibao.domain.national import SIGNATURE_WINDOW_SECONDS, signature_matches
from yibao.services.registry import institution_by_code
from yibao.services.uow import UnitOfWork

CRED = cast(Table, InstitutionCredential.__table__)
INST = cast(Table, Institution.__table__)
NONCE = cast(Table, GatewayNonce.__table__)

_CREDENTIAL = HotStatement(
    select(CRED.c.token, INST.c.id, INST.c.code, INST.c.name, INST.c.area_code, INST.c.kind)
    .join(INST, INST.c.id == CRED.c.institution_id)
    .where(CRED.c.paasid == bindparam("paasid"))
)
_TOKEN_UNCHANGED = exists().where(
    CRED.c.paasid == bindparam("paasid"), CRED.c.token == bindparam("token")
)
_USE_NONCE = HotStatement(  # the nonce, used if the paasid's token is still the one checked
    lambda dialect: (
        insert_skipping_duplicates(dialect, NONCE)
        .from_select(
            ["paasid", "nonce", "signed_at"],
            select(
                bindparam("paasid", type_=String),
                bindparam("nonce", type_=String),
                bindparam("signed_at", type_=BigInteger),
            ).where(_TOKEN_UNCHANGED),
        )
        .on_conflict_do_nothing()
        .returning(NONCE.c.nonce)
    )
)
KEPT_SECONDS = 60.0  # how long a process trusts the institution's fields it read with a token
_PRUNE_EVERY = 200  # about one signed request in this many prunes the nonces out of the window


class GatewayRefused(YibaoError):
    """HTTP 401: the request is not the institution's, or is a replay; nothing is done."""

    code = "gateway_refused"


@dataclass(frozen=True, slots=True)
class Credentials:
    paasid: str
    token: str


@dataclass(frozen=True, slots=True)
class Caller:
    """The institution a signed request came from."""

    paasid: str
    institution_id: int
    code: str
    name: str
    area_code: str
    kind: str


def credentials(*, uow: UnitOfWork, institution_code: str, rotate: bool) -> Credentials:
    """The institution's paasid and token, issued on first call; `rotate` issues a new token
    (the old one stops at once)."""
    institution = institution_by_code(uow=uow, code=institution_code)
    row = uow.session.scalars(
        select(InstitutionCredential)
        .where(InstitutionCredential.institution_id == institution.id)
        .with_for_update()
    ).one_or_none()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if row is None:
        row = InstitutionCredential(
            paasid=f"{institution.code}_{secrets.token_hex(4)}"[:40],
            institution_id=institution.id,
            token=secrets.token_hex(32),
            issued_at=now,
        )
        uow.session.add(row)
    elif rotate:
        row.token = secrets.token_hex(32)
        row.issued_at = now
    uow.session.flush()
    _forget(uow.engine, row.paasid)  # this process's; others see the new token at their next use
    return Credentials(row.paasid, row.token)


def authenticate(
    *,
    uow: UnitOfWork,
    paasid: str | None,
    timestamp: str | None,
    nonce: str | None,
    signature: str | None,
    now: float,
) -> Caller:
    """The caller, once its signature, timestamp and nonce are good; the nonce is then used.

    Each refusal says which header failed and no more: a caller is never told the token.
    """
    for name, value in (
        ("x-tif-paasid", paasid),
        ("x-tif-timestamp", timestamp),
        ("x-tif-nonce", nonce),
        ("x-tif-signature", signature),
    ):
        if not value:
            raise GatewayRefused(f"header {name} is missing")
    assert paasid is not None
    assert timestamp is not None
    assert nonce is not None
    assert signature is not None
    if len(nonce) > 64 or len(paasid) > 40:
        raise GatewayRefused("header x-tif-nonce or x-tif-paasid is too long")
    if not timestamp.isdigit() or abs(int(timestamp) - now) > SIGNATURE_WINDOW_SECONDS:
        raise GatewayRefused(
            f"header x-tif-timestamp {timestamp[:20]!r} is more than "
            f"{SIGNATURE_WINDOW_SECONDS} s away from the gateway's clock"
        )
    if random.randrange(_PRUNE_EVERY) == 0:
        _prune(uow, int(now))
    known = _kept(uow.engine, paasid)
    if known is not None and signature_matches(signature, timestamp, known.token, nonce):
        if _used(uow, paasid, nonce, timestamp, known.token):
            return known.caller
        _forget(uow.engine, paasid)  # the nonce was used before, or the token rotated since
    known = _read(uow, paasid)
    if known is None or not signature_matches(signature, timestamp, known.token, nonce):
        raise GatewayRefused("header x-tif-signature does not match the paasid's token")
    if not _used(uow, paasid, nonce, timestamp, known.token):
        raise GatewayRefused("header x-tif-nonce was used before")
    return known.caller


@dataclass(frozen=True, slots=True)
class _Known:
    token: str
    caller: Caller
    read_at: float  # time.monotonic()


_KNOWN: weakref.WeakKeyDictionary[Engine, dict[str, _Known]] = weakref.WeakKeyDictionary()


def _kept(engine: Engine, paasid: str) -> _Known | None:
    known = _KNOWN.get(engine, {}).get(paasid)
    if known is None or time.monotonic() - known.read_at > KEPT_SECONDS:
        return None
    return known


def _forget(engine: Engine, paasid: str) -> None:
    _KNOWN.get(engine, {}).pop(paasid, None)


def _read(uow: UnitOfWork, paasid: str) -> _Known | None:
    """The stored credential, kept for the next requests of this process."""
    row = _CREDENTIAL.one_or_none(uow.hot, {"paasid": paasid})
    if row is None:
        _forget(uow.engine, paasid)
        return None
    caller = Caller(paasid, int(row[1]), str(row[2]), str(row[3]), str(row[4]), str(row[5]))
    known = _Known(str(row[0]), caller, time.monotonic())
    _KNOWN.setdefault(uow.engine, {})[paasid] = known
    return known


def _used(uow: UnitOfWork, paasid: str, nonce: str, timestamp: str, token: str) -> bool:
    """The nonce is written, so it signs no other request; False if it was used before or
    the paasid's token is no longer `token` (nothing is written then)."""
    params = {"paasid": paasid, "nonce": nonce, "signed_at": int(timestamp), "token": token}
    return _USE_NONCE.scalar_or_none(uow.hot, params) is not None


_PRUNE = HotStatement(delete(NONCE).where(NONCE.c.signed_at < bindparam("before")))


def _prune(uow: UnitOfWork, now: int) -> None:
    """Nonces whose timestamp left the window cannot sign again: the timestamp refuses them."""
    _PRUNE.rows(uow.hot, {"before": now - 2 * SIGNATURE_WINDOW_SECONDS})
