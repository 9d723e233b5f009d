"""Outpatient and inpatient visits through the national interface, against the ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.api.world import CARD, PIN, World
from tests.e2e.national.client import Client, written
from tests.e2e.national.test_pharmacy import balance, psn_no
from yibao.services import catalogue, registry


@pytest.fixture(scope="module")
def hospital(world: World) -> Client:
    with world.app.uow() as uow:
        registry.add_institution(
            uow=uow, code="H001", name="Hospital", kind="hospital", area_code="420100", level="2"
        )
        catalogue.load(
            uow=uow,
            area_code="420100",
            from_month="2024-02",
            entries=catalogue.parse_csv("code,name,class,selfpay_prop\nEXAM,Exam,A,0\n"),
        )
    client = Client(world.app, world.client, "H001")
    client.sign_in()
    return client


def _fee(mdtrt_id: str, person: str, sn: str, amount: str) -> dict[str, Any]:
    return {"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": person, "chrg_bchno": "B1",
            "fee_ocur_time": "2024-03-01 10:00:00", "med_list_codg": "EXAM",
            "medins_list_codg": "EXAM", "det_item_fee_sumamt": Decimal(amount), "cnt": 1,
            "pric": Decimal(amount)}  # fmt: skip


def test_an_outpatient_visit_registers_uploads_settles_once_and_cancels(
    world: World, hospital: Client
) -> None:
    person, before = psn_no(world), balance(world)
    reg = hospital.call("2201", {"data": {"psn_no": person, "insutype": "310",
                                          "begntime": "2024-03-01 09:00:00",
                                          "mdtrt_cert_type": "03", "mdtrt_cert_no": CARD,
                                          "ipt_otp_no": "OP1"}})  # fmt: skip
    assert reg["infcode"] == 0, reg
    mdtrt_id = reg["output"]["data"]["mdtrt_id"]
    up = hospital.call("2204", {"feedetail": [_fee(mdtrt_id, person, "1", "20.00")]})
    assert up["infcode"] == 0, up
    assert up["output"]["result"][0]["inscp_scp_amt"] == 20.0
    settle_data = {"psn_no": person, "mdtrt_cert_type": "03", "mdtrt_cert_no": CARD,
                   "med_type": "11", "medfee_sumamt": Decimal("20.00"), "psn_setlway": "01",
                   "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "insutype": "310",
                   "acct_used_flag": "1", "exp_content": {"card_pin": PIN}}  # fmt: skip
    counts = written(world.app)
    pre = hospital.call("2206", {"data": settle_data})
    assert pre["infcode"] == 0, pre
    assert written(world.app)[:2] == counts[:2]
    assert balance(world) == before
    body = hospital.envelope("2207", {"data": settle_data})
    done = hospital.send(body).json()
    assert done["infcode"] == 0, done
    setl = done["output"]["setlinfo"]
    assert setl["mdtrt_id"] == mdtrt_id
    assert setl["medfee_sumamt"] == 20.0
    assert (
        setl["medfee_sumamt"] == setl["fund_pay_sumamt"] + setl["acct_pay"] + setl["psn_cash_pay"]
    )
    assert balance(world) == before - round(setl["acct_pay"] * 100)
    assert hospital.send(body).json()["output"] == done["output"]
    assert balance(world) == before - round(setl["acct_pay"] * 100)
    again = hospital.call("2207", {"data": settle_data})  # a new msgid: the lines are settled
    assert again["infcode"] == -1
    cancel = hospital.call("2208", {"data": {"setl_id": setl["setl_id"], "mdtrt_id": mdtrt_id,
                                             "psn_no": person}})  # fmt: skip
    assert cancel["infcode"] == 0, cancel
    assert balance(world) == before


def test_an_admission_is_settled_after_discharge(world: World, hospital: Client) -> None:
    person, before = psn_no(world), balance(world)
    adm = hospital.call("2401", {"mdtrtinfo": {"psn_no": person, "insutype": "310",
                                               "mdtrt_cert_type": "02", "mdtrt_cert_no": "x",
                                               "med_type": "21", "ipt_no": "IP1",
                                               "begntime": "2024-03-01 09:00:00"},
                                 "diseinfo": []})  # fmt: skip
    assert adm["infcode"] == 0, adm
    mdtrt_id = adm["output"]["result"]["mdtrt_id"]
    up = hospital.call("2301", {"feedetail": [_fee(mdtrt_id, person, "1", "500.00")]})
    assert up["infcode"] == 0, up
    data = {"psn_no": person, "mdtrt_cert_type": "03", "mdtrt_cert_no": CARD,
            "medfee_sumamt": Decimal("500.00"), "psn_setlway": "01", "mdtrt_id": mdtrt_id,
            "acct_used_flag": "1", "insutype": "310"}  # fmt: skip
    early = hospital.call("2304", {"data": data})
    assert early["infcode"] == -1  # not discharged yet
    out = hospital.call("2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": person,
                                              "endtime": "2024-03-05 09:00:00"}})  # fmt: skip
    assert out["infcode"] == 0, out
    done = hospital.call("2304", {"data": data})
    assert done["infcode"] == 0, done
    setl = done["output"]["setlinfo"]
    assert setl["medfee_sumamt"] == 500.0
    assert balance(world) == before - round(setl["acct_pay"] * 100)
    cancel = hospital.call("2305", {"data": {"setl_id": setl["setl_id"], "mdtrt_id": mdtrt_id,
                                             "psn_no": person}})  # fmt: skip
    assert cancel["infcode"] == 0, cancel
    assert balance(world) == before
