"""Passwords of API users: argon2id at the RFC 9106 parameters (64 MiB, 3 passes, 4 lanes).

Unlike a PIN, a password has the space to resist an offline search: the cost is what protects
a dumped hash. A hash made with weaker parameters is renewed at the next right login.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=3, memory_cost=65_536, parallelism=4, type=Type.ID)


@lru_cache(maxsize=1)
def _dummy() -> str:
    """Verified when the user is unknown, so a wrong name costs as long as a wrong password."""
    return _hasher.hash("not anyone's password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_renewal(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
