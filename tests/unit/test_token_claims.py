"""Access tokens' signatures, verified once per token and key: what the kept verification
still refuses (another key, altered bytes, a token past its expiry)."""

from __future__ import annotations

import time

import jwt
import pytest

from yibao.services.accounts import tokens
from yibao.services.accounts.tokens import ALGORITHM, InvalidToken, read_claims

KEY = "k" * 40


def _token(*, exp: float, key: str = KEY, jti: str = "t1") -> str:
    claims = {"sub": "pos", "role": "institution", "jti": jti, "iat": int(time.time()), "exp": exp}
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def test_a_verified_token_reads_the_same_claims_again() -> None:
    token = _token(exp=time.time() + 60)
    first = read_claims(token=token, secret=KEY)
    assert read_claims(token=token, secret=KEY) == first
    assert first.token_id == "t1"


def test_a_token_verified_under_one_key_is_refused_under_another() -> None:
    token = _token(exp=time.time() + 60)
    read_claims(token=token, secret=KEY)
    with pytest.raises(InvalidToken):
        read_claims(token=token, secret="another key, " + "x" * 30)


def test_a_token_with_altered_bytes_is_refused_after_the_genuine_one_was_verified() -> None:
    token = _token(exp=time.time() + 60)
    read_claims(token=token, secret=KEY)
    head, _body, signature = token.split(".")
    forged = _token(exp=time.time() + 3600, key="not the server's key " + "y" * 20, jti="t1")
    with pytest.raises(InvalidToken):
        read_claims(token=".".join((head, forged.split(".")[1], signature)), secret=KEY)


def test_a_verified_token_is_refused_once_it_has_expired() -> None:
    expires = int(time.time()) + 1
    token = _token(exp=expires)
    read_claims(token=token, secret=KEY)
    assert (KEY, token) in tokens._VERIFIED  # kept: the next use does not verify again
    time.sleep(max(0.0, expires - time.time()) + 0.05)
    with pytest.raises(InvalidToken, match="expired"):
        read_claims(token=token, secret=KEY)
