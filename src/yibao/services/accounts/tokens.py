"""Access tokens: the OAuth2 password flow's answer, short-lived, signed and revocable.

A token is an HS256 JWT naming the user, its role and a token id; the id is stored, so a
revoked token, or one of a disabled user, stops working before it expires. Wrong passwords are
counted per user (committed before the refusal): after `MAX_FAILED_LOGINS` in a row, the user's
logins are refused for `LOCKOUT`, whatever password is given.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import jwt
from sqlalchemy import Table, bindparam, select

from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import ApiToken, ApiUser
from yibao.domain.errors import YibaoError
from yibao.services.accounts import Role, UnknownUser, User, now, public_user, user_row
from yibao.services.accounts.passwords import hash_password, needs_renewal, password_matches
from yibao.services.uow import UnitOfWork

ALGORITHM = "HS256"
TOKENS = cast(Table, ApiToken.__table__)
USERS = cast(Table, ApiUser.__table__)
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)


class BadCredentials(YibaoError):
    """The name or the password is wrong (which one is not said)."""

    code = "invalid_credentials"


class TooManyLogins(YibaoError):
    code = "too_many_attempts"


class InvalidToken(YibaoError):
    code = "invalid_token"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    token_id: str
    expires_at: dt.datetime
    user: User


def log_in(
    *,
    uow_factory: Callable[[], UnitOfWork],
    name: str,
    password: str,
    secret: str,
    seconds: int,
) -> IssuedToken:
    """Check the password (attempts limited per user) and issue a token."""
    with uow_factory() as uow:
        try:
            row = user_row(uow=uow, name=name, lock=True)
        except UnknownUser:
            password_matches(None, password)  # as long as a wrong password takes
            raise BadCredentials("wrong user name or password") from None
        moment = now()
        locked = _locked(row, moment)
        right = (
            not locked and row.disabled_at is None and password_matches(row.password_hash, password)
        )
        if not right and not locked:
            row.failed_logins = 1 if _lockout_over(row, moment) else (row.failed_logins or 0) + 1
            row.last_failed_at = moment
    if locked:
        raise TooManyLogins(
            f"too many wrong passwords for {name!r}: try again after {LOCKOUT.seconds // 60} "
            "minutes, or ask an administrator to reset the password"
        )
    if not right:
        raise BadCredentials("wrong user name or password")
    with uow_factory() as uow:
        row = user_row(uow=uow, name=name, lock=True)
        row.failed_logins = 0
        row.last_failed_at = None
        if needs_renewal(row.password_hash):
            row.password_hash = hash_password(password)
        return issue_token(uow=uow, user=public_user(row), secret=secret, seconds=seconds)


def _locked(row: ApiUser, moment: dt.datetime) -> bool:
    return (row.failed_logins or 0) >= MAX_FAILED_LOGINS and not _lockout_over(row, moment)


def _lockout_over(row: ApiUser, moment: dt.datetime) -> bool:
    return row.last_failed_at is None or moment - row.last_failed_at >= LOCKOUT


def issue_token(*, uow: UnitOfWork, user: User, secret: str, seconds: int) -> IssuedToken:
    """A token for a user already authenticated (the login above, or a test)."""
    token_id = secrets.token_hex(16)
    issued = now()
    expires = issued + dt.timedelta(seconds=seconds)
    uow.session.add(ApiToken(id=token_id, user_id=user.id, issued_at=issued, expires_at=expires))
    claims = {
        "sub": user.name,
        "role": str(user.role),
        "jti": token_id,
        "iat": _epoch(issued),
        "exp": _epoch(expires),
    }
    return IssuedToken(jwt.encode(claims, secret, algorithm=ALGORITHM), token_id, expires, user)


def _epoch(moment: dt.datetime) -> int:
    return int(moment.replace(tzinfo=dt.UTC).timestamp())


@dataclass(frozen=True, slots=True)
class Claims:
    """What a genuine, unexpired token says; whether it was revoked is read with `holder`."""

    token_id: str
    user_name: str


def token_user(*, uow: UnitOfWork, token: str, secret: str) -> tuple[User, str]:
    """The user a token was issued to, and the token's id; refused if expired or revoked."""
    claims = read_claims(token=token, secret=secret)
    return holder(uow=uow, claims=claims), claims.token_id


# Tokens whose signature was verified, by (key, token) -> their claims and expiry: a client
# sends its token with every request, and the signature of the same bytes under the same key
# verifies the same way each time. The expiry is checked at every use.
_VERIFIED: dict[tuple[str, str], tuple[Claims, int]] = {}
_VERIFIED_AT_MOST = 10_000


def read_claims(*, token: str, secret: str) -> Claims:
    """The token's signature and expiry, checked without the database."""
    found = _VERIFIED.get((secret, token))
    if found is not None and time.time() < found[1]:
        return found[0]
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "jti", "sub"]}
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the token has expired; log in again") from None
    except jwt.PyJWTError:
        raise InvalidToken("the token is not one this server issued") from None
    verified = Claims(str(claims["jti"]), str(claims["sub"]))
    if len(_VERIFIED) >= _VERIFIED_AT_MOST:
        _VERIFIED.clear()
    _VERIFIED[secret, token] = (verified, int(claims["exp"]))
    return verified


_HOLDER = HotStatement(
    select(
        TOKENS.c.revoked_at, TOKENS.c.expires_at,
        USERS.c.id, USERS.c.name, USERS.c.role, USERS.c.scope, USERS.c.disabled_at,
    )
    .join(USERS, USERS.c.id == TOKENS.c.user_id)
    .where(TOKENS.c.id == bindparam("token_id"))
)  # fmt: skip


def holder(*, uow: UnitOfWork, claims: Claims) -> User:
    """The token's user, read in the caller's transaction: refused if the token was revoked
    or its user disabled since it was issued."""
    return holder_of(_HOLDER.one_or_none(uow.hot, {"token_id": claims.token_id}))


def holder_of(row: Sequence[Any] | None) -> User:
    """The user of a token row read as `_HOLDER` reads it (its first seven columns)."""
    if row is None:
        raise InvalidToken("the token is not one this server issued")
    require_in_force(revoked_at=row[0], expires_at=row[1], disabled_at=row[6])
    return User(int(row[2]), str(row[3]), Role(row[4]), row[5], row[6] is not None)


def require_in_force(
    *,
    revoked_at: dt.datetime | None,
    expires_at: dt.datetime,
    disabled_at: dt.datetime | None,
) -> None:
    """A stored token still works: not revoked, its user not disabled, not expired."""
    if revoked_at is not None or disabled_at is not None:
        raise InvalidToken("the token was revoked; log in again")
    if expires_at <= now():
        raise InvalidToken("the token has expired; log in again")


def revoke_token(*, uow: UnitOfWork, token_id: str) -> None:
    stored = uow.session.get(ApiToken, token_id, with_for_update=True)
    if stored is not None and stored.revoked_at is None:
        stored.revoked_at = now()
        uow.session.flush()
