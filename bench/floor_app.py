"""The smallest FastAPI app that does what yibao's two hot routes cannot do without, served by
`bench/api_floor.py` under uvicorn: the framework's floor on this machine, not a yibao server.

- `POST /api/v1/pos/settlements`: the body validated by a Pydantic model and yibao's one
  statement of a card sale (`services.settlement.card_sale`, the PIN checked, the accounts
  posted) on an autocommitting connection. No token, no Idempotency-Key kept, no audit entry,
  no receipt beyond the reference: what yibao's route adds to this is yibao's own cost.
- `GET /api/v1/persons/{id_number}/inquiry`: one read of the person's medical balance and one
  committed INSERT of a plain read log row, the least an audited read can write. No token,
  no explainer.

Both are `async def` running their blocking statement on the event loop, the cheapest way
FastAPI has: no thread-pool hand-over.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import cache

from fastapi import FastAPI, Header
from pydantic import BaseModel
from sqlalchemy import Engine

from yibao.adapters.db import make_engine
from yibao.adapters.hot import AutocommitConnection
from yibao.domain.money import yuan_to_fen
from yibao.services.settlement import LineItem, card_sale

READ_LOG = "bench_floor_read"  # created by bench/api_floor.py in the bench's schema

api = FastAPI()


@cache
def engine() -> Engine:
    return make_engine(os.environ["YIBAO_DATABASE_URL"])


class Item(BaseModel):
    code: str
    quantity: int
    amount: str


class Sale(BaseModel):
    institution: str
    ref: str
    card: str
    pin: str
    day: dt.date
    items: list[Item]


@api.post("/api/v1/pos/settlements", status_code=201)
async def settle(body: Sale, idempotency_key: str = Header()) -> dict[str, object]:
    lines = tuple(
        LineItem(item.code, item.quantity, yuan_to_fen(item.amount, field="amount"), True)
        for item in body.items
    )
    params = card_sale.one_statement_params(
        institution_code=body.institution,
        ref=body.ref,
        card_no=body.card,
        pin=body.pin,
        lines=lines,
        visit=None,
        on=body.day,
        today=dt.date.today(),
    )
    assert params is not None
    connection = AutocommitConnection(engine())
    try:
        _, outcome = card_sale.read_and_post(connection, params)
    finally:
        connection.close()
    return {"ref": body.ref, "posted": outcome is not None}


@api.get("/api/v1/persons/{id_number}/inquiry")
async def inquire(id_number: str, channel: str = "web") -> dict[str, object]:
    connection = AutocommitConnection(engine())
    try:
        cursor = connection.target.cursor
        cursor.execute(
            "SELECT a.balance_fen FROM person p"
            " JOIN ledger_account a ON a.owner_person_id = p.id AND a.kind = 'personal'"
            " WHERE p.id_number = %s",
            (id_number,),
        )
        found = cursor.fetchall()
        cursor.execute(
            f"INSERT INTO {READ_LOG} (id_number, channel) VALUES (%s, %s)", (id_number, channel)
        )
    finally:
        connection.close()
    return {"medical_balance": str(found[0][0] if found else None)}
