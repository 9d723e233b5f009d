"""The first answer to each msgid of an institution: a repeated msgid gets it again.

A message that writes claims its msgid first, in the transaction of its work, so a second
copy arriving at the same time waits for the first and then reads its answer. A settlement,
whose money moves in transactions of its own, is itself idempotent by its reference (the
msgid): two copies settle once, and the answer kept is the first one written.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update

from yibao.adapters.db import insert_skipping_duplicates
from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import NationalMessage, NationalSignIn
from yibao.domain.national import to_json
from yibao.services.uow import UnitOfWork

MSG = cast(Table, NationalMessage.__table__)
SIGN = cast(Table, NationalSignIn.__table__)
PENDING = ""  # a claimed msgid whose answer its transaction has not written yet

_ANSWER = HotStatement(
    select(MSG.c.response).where(
        MSG.c.institution_id == bindparam("institution_id"), MSG.c.msgid == bindparam("msgid")
    )
)
_ANSWER_AND_SIGN_IN = HotStatement(  # a message's two reads before its work, in one
    select(
        select(MSG.c.response)
        .where(
            MSG.c.institution_id == bindparam("institution_id"), MSG.c.msgid == bindparam("msgid")
        )
        .scalar_subquery(),
        select(SIGN.c.sign_no)
        .where(
            SIGN.c.sign_no == bindparam("sign_no"),
            SIGN.c.institution_id == bindparam("institution_id"),
            SIGN.c.signed_out_at.is_(None),
        )
        .scalar_subquery(),
    )
)
_CLAIM = HotStatement(
    lambda dialect: (
        insert_skipping_duplicates(dialect, MSG).on_conflict_do_nothing().returning(MSG.c.id)
    )
)
_ANSWERED = HotStatement(update(MSG).where(MSG.c.id == bindparam("claim")))


def first_answer(*, uow: UnitOfWork, institution_id: int, msgid: str) -> dict[str, Any] | None:
    found = _ANSWER.scalar_or_none(uow.hot, {"institution_id": institution_id, "msgid": msgid})
    if not found:
        return None
    answer: dict[str, Any] = json.loads(found, parse_float=Decimal)
    return answer


def first_answer_and_sign_in(
    *, uow: UnitOfWork, institution_id: int, msgid: str, sign_no: str
) -> tuple[dict[str, Any] | None, bool]:
    """The msgid's first answer, if any, and whether `sign_no` is a sign-in in force of the
    institution: one round trip."""
    row = _ANSWER_AND_SIGN_IN.one_or_none(
        uow.hot, {"institution_id": institution_id, "msgid": msgid, "sign_no": sign_no}
    )
    assert row is not None
    found: dict[str, Any] | None = json.loads(row[0], parse_float=Decimal) if row[0] else None
    return found, row[1] is not None


def claim(
    *, uow: UnitOfWork, institution_id: int, msgid: str, infno: str, response: str = PENDING
) -> int | None:
    """The claim's id, or None if the msgid was claimed before (by a transaction that
    committed: a concurrent one is waited for)."""
    found = _CLAIM.scalar_or_none(
        uow.hot,
        {
            "institution_id": institution_id,
            "msgid": msgid,
            "infno": infno,
            "response": response,
            "answered_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        },
    )
    return None if found is None else int(found)


def answer(*, uow: UnitOfWork, claim_id: int, response: dict[str, Any]) -> None:
    _ANSWERED.rows(uow.hot, {"claim": claim_id, "response": dumps(response)})


def keep(
    *, uow: UnitOfWork, institution_id: int, msgid: str, infno: str, response: dict[str, Any]
) -> dict[str, Any]:
    """Keep the answer of a message whose work committed by itself; the first kept wins."""
    if claim(
        uow=uow, institution_id=institution_id, msgid=msgid, infno=infno, response=dumps(response)
    ):
        return response
    first = first_answer(uow=uow, institution_id=institution_id, msgid=msgid)
    assert first is not None
    return first


def dumps(response: dict[str, Any]) -> str:
    return to_json(response)
