"""The national interface through a real `yibao serve` process, as an institution's HIS
reaches it over the network: sign-in, person info and a pharmacy settlement, repeated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import quote

import httpx2
import pytest
from sqlalchemy import Engine, text

from tests.conftest import PG_URL, require_postgres
from tests.e2e.api.test_serve import free_port
from tests.e2e.api.world import CARD, INSIDE, PIN, World, build_world
from tests.e2e.national.client import Client, written
from tests.e2e.national.test_pharmacy import balance, psn_no, purchase
from yibao.adapters.db import scratch_database
from yibao.bootstrap import App
from yibao.services import catalogue


def served_url(engine: Engine) -> str:
    """The URL `yibao serve` is given: on PostgreSQL, the scratch schema as its search path."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name != "postgresql":
        return url
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    return f"{PG_URL}?options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[World, httpx2.Client]]:
    if request.param == "postgresql":
        require_postgres()
    with scratch_database(PG_URL if request.param == "postgresql" else None) as engine:
        world = build_world(App(engine))
        with world.app.uow() as uow:
            catalogue.load(
                uow=uow,
                area_code="420100",
                from_month="2024-01",
                entries=catalogue.parse_csv(
                    "code,name,class,selfpay_prop\nDRUG-A,Aspirin,A,0\nDRUG-B,Statin,B,0.10\n"
                ),
            )
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "yibao.entrypoints.cli.main", "serve", "--db",
             served_url(engine), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "YIBAO_ENV": "development"},
        )  # fmt: skip
        try:
            with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                _wait_for(http, server)
                yield world, http
        finally:
            server.send_signal(signal.SIGTERM)
            server.communicate(timeout=30)


def _wait_for(http: httpx2.Client, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if http.get("/api/v1/health").status_code == 200:
                return
        except httpx2.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"yibao serve did not start: {server.stderr}")
        time.sleep(0.2)


def test_a_served_yibao_signs_in_reads_the_person_and_settles_once(
    served: tuple[World, httpx2.Client],
) -> None:
    world, http = served
    his = Client(world.app, http, "P001")
    his.sign_in()
    assert len(his.sign_no) == 30

    info = his.call("1101", {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": CARD,
                                      "card_sn": "", "begntime": "", "psn_cert_type": "",
                                      "certno": "", "psn_name": "",
                                      "exp_content": {"card_pin": PIN}}})  # fmt: skip
    assert info["infcode"] == 0, info
    assert info["output"]["baseinfo"]["certno"] == INSIDE
    assert info["output"]["baseinfo"]["psn_no"] == psn_no(world)
    before = balance(world)
    assert Decimal(str(info["output"]["insuinfo"][0]["balc"])) * 100 == before

    body = his.envelope("2102", purchase(world))
    body["input"]["drugdetail"][2]["med_list_codg"] = "NOT-LISTED"  # class C: the person pays
    counts = written(world.app)
    first = his.send(body)
    assert first.status_code == 200
    assert '"medfee_sumamt":30.00' in first.text  # amounts: JSON numbers, two decimals
    setl = first.json()["output"]["setlinfo"]
    assert first.json()["infcode"] == 0, first.text
    assert setl["fulamt_ownpay_amt"] == 10.0
    assert setl["inscp_scp_amt"] == 19.0
    paid = round(Decimal(str(setl["acct_pay"])) * 100)
    assert paid == min(1900, before)
    assert balance(world) == before - paid
    assert round(Decimal(str(setl["balc"])) * 100) == before - paid
    assert written(world.app)[1:] == (counts[1] + 1, counts[2] + 1)

    again = his.send(body)  # the same msgid, a new nonce: the first answer, nothing moved
    assert again.json()["output"] == first.json()["output"]
    assert balance(world) == before - paid
    assert written(world.app)[1:] == (counts[1] + 1, counts[2] + 1)
