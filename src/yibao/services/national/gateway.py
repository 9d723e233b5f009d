"""The gateway's authentication of a designated institution: its paasid and token, the
x-tif signature, the timestamp's window and the nonce used once."""

from __future__ import annotations

import datetime as dt
import random
import secrets
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, delete, select

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
_USE_NONCE = HotStatement(
    lambda dialect: (
        insert_skipping_duplicates(dialect, NONCE).on_conflict_do_nothing().returning(NONCE.c.nonce)
    )
)
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
    row = _CREDENTIAL.one_or_none(uow.hot, {"paasid": paasid})
    if row is None or not signature_matches(signature, timestamp, str(row[0]), nonce):
        raise GatewayRefused("header x-tif-signature does not match the paasid's token")
    if random.randrange(_PRUNE_EVERY) == 0:
        _prune(uow, int(now))
    used = _USE_NONCE.scalar_or_none(
        uow.hot, {"paasid": paasid, "nonce": nonce, "signed_at": int(timestamp)}
    )
    if used is None:
        raise GatewayRefused("header x-tif-nonce was used before")
    return Caller(paasid, int(row[1]), str(row[2]), str(row[3]), str(row[4]), str(row[5]))


_PRUNE = HotStatement(delete(NONCE).where(NONCE.c.signed_at < bindparam("before")))


def _prune(uow: UnitOfWork, now: int) -> None:
    """Nonces whose timestamp left the window cannot sign again: the timestamp refuses them."""
    _PRUNE.rows(uow.hot, {"before": now - 2 * SIGNATURE_WINDOW_SECONDS})
