"""Copies of one message and rival messages at the same moment, on PostgreSQL with real
parallel clients: a settlement happens once and every copy gets the same answer."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import PG_URL, require_postgres
from tests.e2e.api.world import CARD, PIN, World, build_world
from tests.e2e.national.client import Client, written
from tests.e2e.national.test_pharmacy import balance, psn_no, purchase
from yibao.adapters.db import scratch_database
from yibao.adapters.tables import AuditEntry, NationalFeeLine, Settlement
from yibao.bootstrap import App
from yibao.services import catalogue, registry

COPIES = 16


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """The API tests' city on PostgreSQL only: SQLite has one writer, nothing to race."""
    require_postgres()
    with scratch_database(PG_URL) as engine:
        built = build_world(App(engine))
        with built.app.uow() as uow:
            catalogue.load(
                uow=uow,
                area_code="420100",
                from_month="2024-01",
                entries=catalogue.parse_csv(
                    "code,name,class,selfpay_prop\nDRUG-A,Aspirin,A,0\nDRUG-B,Statin,B,0.10\n"
                    "EXAM,Exam,A,0\n"
                ),
            )
        with built.client:
            yield built


def at_once(count: int, send: Callable[[int], Any]) -> list[Any]:
    """`send(i)` from `count` threads released together."""
    start = threading.Barrier(count)

    def one(index: int) -> Any:
        start.wait()
        return send(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def settlements_of(world: World, ref: str) -> int:
    with world.app.uow() as uow:
        return uow.session.scalar(select(func.count()).where(Settlement.ref == ref)) or 0


def audit_entries(world: World, action: str) -> int:
    with world.app.uow() as uow:
        return uow.session.scalar(select(func.count()).where(AuditEntry.action == action)) or 0


def test_sixteen_copies_of_one_settlement_settle_once_and_answer_alike(world: World) -> None:
    his = Client(world.app, world.client, "P001")
    his.sign_in()
    before, counts = balance(world), written(world.app)
    entries = audit_entries(world, "national.2102")
    body = his.envelope("2102", purchase(world))
    headers = [his.headers() for _ in range(COPIES)]  # each copy signed with its own nonce

    answers = at_once(COPIES, lambda i: his.send(body, headers[i]))

    assert [a.status_code for a in answers] == [200] * COPIES
    found = [a.json() for a in answers]
    assert all(f["infcode"] == 0 for f in found), [f["err_msg"] for f in found]
    assert all(f["output"] == found[0]["output"] for f in found)
    assert all(f["inf_refmsgid"] == body["msgid"] for f in found)
    assert settlements_of(world, body["msgid"]) == 1
    paid = round(Decimal(str(found[0]["output"]["setlinfo"]["acct_pay"])) * 100)
    assert paid > 0
    assert balance(world) == before - paid
    transfers, settled, kept = written(world.app)
    assert (settled, kept) == (counts[1] + 1, counts[2] + 1)
    assert transfers == counts[0] + 1  # the account's one transfer (a pharmacy: no fund part)
    assert audit_entries(world, "national.2102") == entries + 1


def test_rival_messages_settling_one_outpatient_batch_settle_it_once(world: World) -> None:
    with world.app.uow() as uow:
        registry.add_institution(
            uow=uow, code="H001", name="Hospital", kind="hospital", area_code="420100", level="2"
        )
    hospital = Client(world.app, world.client, "H001")
    hospital.sign_in()
    person, before = psn_no(world), balance(world)
    registration = {"psn_no": person, "insutype": "310", "begntime": "2024-03-01 09:00:00",
                    "mdtrt_cert_type": "03", "mdtrt_cert_no": CARD}  # fmt: skip
    reg = hospital.call("2201", {"data": registration})
    mdtrt_id = reg["output"]["data"]["mdtrt_id"]
    fee = {"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": person, "chrg_bchno": "B1",
           "fee_ocur_time": "2024-03-01 10:00:00", "med_list_codg": "EXAM",
           "medins_list_codg": "EXAM", "det_item_fee_sumamt": Decimal("20.00"), "cnt": 1,
           "pric": Decimal("20.00")}  # fmt: skip
    assert hospital.call("2204", {"feedetail": [fee]})["infcode"] == 0
    data = {"psn_no": person, "mdtrt_cert_type": "03", "mdtrt_cert_no": CARD,
            "med_type": "11", "medfee_sumamt": Decimal("20.00"), "psn_setlway": "01",
            "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "insutype": "310",
            "acct_used_flag": "1", "exp_content": {"card_pin": PIN}}  # fmt: skip
    rivals = 8
    bodies = [hospital.envelope("2207", {"data": data}) for _ in range(rivals)]
    headers = [hospital.headers() for _ in range(rivals)]
    counts = written(world.app)

    found = [a.json() for a in at_once(rivals, lambda i: hospital.send(bodies[i], headers[i]))]

    won = [f for f in found if f["infcode"] == 0]
    assert len(won) == 1, [f["err_msg"] for f in found]
    assert all("fee lines of visit" in f["err_msg"] for f in found if f["infcode"] != 0)
    assert sum(settlements_of(world, b["msgid"]) for b in bodies) == 1
    setl = won[0]["output"]["setlinfo"]
    assert balance(world) == before - round(Decimal(str(setl["acct_pay"])) * 100)
    assert written(world.app)[1:] == (counts[1] + 1, counts[2] + 1)
    with world.app.uow() as uow:
        linked = uow.session.scalars(select(NationalFeeLine.settlement_id)).all()
    assert linked == [int(setl["setl_id"])]
