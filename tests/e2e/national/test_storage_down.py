"""When the database does not answer, the national interface says so (HTTP 503, infcode -1,
"send it again with the same msgid") rather than a bare 500, or a 200 claiming the message
was not done: a commit whose acknowledgement was lost may have settled it, and the same msgid
sent again gets that first answer. Found by the fault run (tests/faults) during a PostgreSQL
restart."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from tests.e2e.api.world import World
from tests.e2e.national.client import Client, written
from tests.e2e.national.test_pharmacy import his, purchase
from yibao.entrypoints.national import router

__all__ = ["his"]


def _down(*_args: object, **_kwargs: object) -> None:
    raise OperationalError("SELECT 1", {}, Exception("the database system is shutting down"))


@pytest.mark.parametrize("where", ["authenticate", "answer"])
def test_a_storage_failure_asks_for_the_same_msgid_again(
    world: World, his: Client, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    body = his.envelope("2102", purchase(world))
    before = written(world.app)
    with monkeypatch.context() as patched:
        if where == "authenticate":
            patched.setattr(router.gateway, "authenticate", _down)
        else:
            patched.setattr(router, "_answer", _down)
        answer = his.send(body)
    assert answer.status_code == 503, answer.text
    assert answer.json()["infcode"] == -1
    assert "same msgid" in answer.json()["err_msg"]
    assert written(world.app) == before
    again = his.send(body)  # the storage is back: the same msgid settles, once
    assert again.json()["infcode"] == 0, again.text
    assert his.send(body).json()["output"] == again.json()["output"]
