"""API accounts on both backends: scopes checked, tokens revocable, logins limited, and the
idempotency record that keeps a request's first answer, also under concurrent retries."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import yaml

from tests.scenario_files import EXAMPLES
from yibao.bootstrap import App
from yibao.domain.errors import InvalidInput, NotFound
from yibao.domain.idnumber import make_id_number
from yibao.services import accounts, registry
from yibao.services.accounts import idempotency
from yibao.services.accounts.idempotency import Answer, IdempotencyKeyReused
from yibao.services.accounts.tokens import (
    BadCredentials,
    InvalidToken,
    TooManyLogins,
    issue_token,
    log_in,
    revoke_token,
    token_user,
)

SECRET = "k" * 32
PASSWORD = "correct horse battery"
PERSON = make_id_number("420102", dt.date(1980, 1, 2), 7)


@pytest.fixture
def city(app: App) -> App:
    area = yaml.safe_load((EXAMPLES / "01_medical_left_out.yaml").read_text())["area"]
    with app.uow() as uow:
        registry.load_area(uow=uow, document=area)
        registry.add_person(uow=uow, id_number=PERSON, name="Li Si", area_code="420100")
    return app


def test_a_scoped_role_needs_a_recorded_scope_and_others_take_none(city: App) -> None:
    with city.uow() as uow:
        person = accounts.add_user(
            uow=uow, name="li", role="person", password=PASSWORD, scope=PERSON.lower()
        )
        assert person.scope == PERSON
    for role, scope, field in (
        ("clerk", None, "area"),
        ("employer", "E404", None),
        ("auditor", "420100", "scope"),
        ("king", None, "role"),
    ):
        with pytest.raises((InvalidInput, NotFound)) as refused, city.uow() as uow:
            accounts.add_user(uow=uow, name=f"u-{role}", role=role, password=PASSWORD, scope=scope)
        if field is not None:
            assert getattr(refused.value, "field", None) == field


def test_a_revoked_token_and_the_tokens_of_a_disabled_user_stop_working(city: App) -> None:
    with city.uow() as uow:
        user = accounts.add_user(uow=uow, name="aud", role="auditor", password=PASSWORD)
        first = issue_token(uow=uow, user=user, secret=SECRET, seconds=60)
        second = issue_token(uow=uow, user=user, secret=SECRET, seconds=60)
    with city.uow() as uow:
        assert token_user(uow=uow, token=first.access_token, secret=SECRET)[0].name == "aud"
        revoke_token(uow=uow, token_id=first.token_id)
    with pytest.raises(InvalidToken), city.uow() as uow:
        token_user(uow=uow, token=first.access_token, secret=SECRET)
    with city.uow() as uow:
        token_user(uow=uow, token=second.access_token, secret=SECRET)
        accounts.disable_user(uow=uow, name="aud")
    with pytest.raises(InvalidToken), city.uow() as uow:
        token_user(uow=uow, token=second.access_token, secret=SECRET)
    with pytest.raises(InvalidToken), city.uow() as uow:
        token_user(uow=uow, token=second.access_token, secret="another key" * 4)


def test_five_wrong_passwords_lock_the_login_and_a_reset_unlocks_it(city: App) -> None:
    with city.uow() as uow:
        accounts.add_user(uow=uow, name="bank", role="bank", password=PASSWORD)

    def attempt(password: str) -> None:
        log_in(uow_factory=city.uow, name="bank", password=password, secret=SECRET, seconds=60)

    for _ in range(5):
        with pytest.raises(BadCredentials):
            attempt("wrong password")
    with pytest.raises(TooManyLogins):
        attempt(PASSWORD)
    with city.uow() as uow:
        accounts.reset_password(uow=uow, name="bank", password="another good password")
    attempt("another good password")
    with pytest.raises(BadCredentials):
        log_in(uow_factory=city.uow, name="nobody", password=PASSWORD, secret=SECRET, seconds=60)


def test_a_key_keeps_its_first_answer_and_refuses_another_request(city: App) -> None:
    with city.uow() as uow:
        user = accounts.add_user(uow=uow, name="adm", role="admin", password=PASSWORD)
        claim = idempotency.claim(uow=uow, user_id=user.id, key="k1", digest="a")
        assert claim.answer is None
        assert claim.record_id is not None
        idempotency.remember(uow=uow, record_id=claim.record_id, answer=Answer(201, {"x": 1}))
    with city.uow() as uow:
        again = idempotency.claim(uow=uow, user_id=user.id, key="k1", digest="a")
    assert again.answer == Answer(201, {"x": 1})
    with pytest.raises(IdempotencyKeyReused), city.uow() as uow:
        idempotency.claim(uow=uow, user_id=user.id, key="k1", digest="b")


def test_a_key_rolled_back_with_its_write_is_free_again(city: App) -> None:
    with city.uow() as uow:
        user = accounts.add_user(uow=uow, name="adm", role="admin", password=PASSWORD)

    def failing_write() -> None:
        with city.uow() as uow:
            idempotency.claim(uow=uow, user_id=user.id, key="k2", digest="a")
            raise RuntimeError("the write failed")

    with pytest.raises(RuntimeError):
        failing_write()
    with city.uow() as uow:
        assert idempotency.claim(uow=uow, user_id=user.id, key="k2", digest="b").answer is None


def test_concurrent_requests_with_one_key_do_the_work_once_on_postgresql(pg_app: App) -> None:
    with pg_app.uow() as uow:
        user = accounts.add_user(uow=uow, name="adm", role="admin", password=PASSWORD)
    done: list[str] = []
    answers: list[Answer | None] = []
    start = threading.Barrier(8)

    def request(index: int) -> None:
        start.wait()
        with pg_app.uow() as uow:
            claim = idempotency.claim(uow=uow, user_id=user.id, key="same", digest="d")
            if claim.answer is not None:
                answers.append(claim.answer)
                return
            done.append(f"work {index}")
            assert claim.record_id is not None
            answer = Answer(201, {"by": index})
            idempotency.remember(uow=uow, record_id=claim.record_id, answer=answer)
            answers.append(answer)

    threads = [threading.Thread(target=request, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(done) == 1
    assert len({str(a) for a in answers}) == 1
    assert len(answers) == 8
