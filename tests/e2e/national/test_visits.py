"""Outpatient and inpatient visits through the national interface, against the ledger."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.api.world import CARD, INSIDE, PIN, World
from tests.e2e.national.client import Client, read, written
from tests.e2e.national.shapes import SETLINFO_AMOUNTS, check_settlement_output
from tests.e2e.national.test_pharmacy import balance, psn_no
from yibao.adapters.tables import NationalFeeLine, NationalVisit
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


def _fee(mdtrt_id: str, person: str, sn: str, amount: str, batch: str = "B1") -> dict[str, Any]:
    return {"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": person, "chrg_bchno": batch,
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
    check_settlement_output(pre["output"])
    assert written(world.app)[:2] == counts[:2]
    assert balance(world) == before
    body = hospital.envelope("2207", {"data": settle_data})
    done = read(hospital.send(body))
    assert done["infcode"] == 0, done
    check_settlement_output(done["output"])
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
    kept = hospital.call("2202", {"data": {"mdtrt_id": mdtrt_id, "psn_no": person}})
    assert kept["infcode"] == -1  # a registration with settled fees stays
    assert "cancel the settlement first" in kept["err_msg"]
    cancel = hospital.call("2208", {"data": {"setl_id": setl["setl_id"], "mdtrt_id": mdtrt_id,
                                             "psn_no": person}})  # fmt: skip
    assert cancel["infcode"] == 0, cancel
    assert balance(world) == before


def test_an_admission_is_presettled_and_settled_after_discharge(
    world: World, hospital: Client
) -> None:
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
    for infno in ("2303", "2304"):
        early = hospital.call(infno, {"data": data})
        assert early["infcode"] == -1  # not discharged yet
        assert "needs it discharged" in early["err_msg"]
    out = hospital.call("2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": person,
                                              "endtime": "2024-03-05 09:00:00"}})  # fmt: skip
    assert out["infcode"] == 0, out
    counts = written(world.app)
    wrong = hospital.call("2303", {"data": {**data, "medfee_sumamt": Decimal("400.00")}})
    assert wrong["infcode"] == -1
    assert "medfee_sumamt: '400.00'" in wrong["err_msg"]
    assert written(world.app) == counts
    pre = hospital.call("2303", {"data": data})
    assert pre["infcode"] == 0, pre
    check_settlement_output(pre["output"])
    assert pre["output"]["setlinfo"]["setl_id"] == ""
    assert written(world.app)[:2] == counts[:2]  # pre-settlement moves nothing
    assert balance(world) == before

    done = hospital.call("2304", {"data": data})
    assert done["infcode"] == 0, done
    check_settlement_output(done["output"])
    setl = done["output"]["setlinfo"]
    assert setl["medfee_sumamt"] == Decimal("500.00")
    assert {k: pre["output"]["setlinfo"][k] for k in SETLINFO_AMOUNTS} == {
        k: setl[k] for k in SETLINFO_AMOUNTS
    }  # the pre-settlement foretold the settlement
    assert balance(world) == before - round(setl["acct_pay"] * 100)
    cancel = hospital.call("2305", {"data": {"setl_id": setl["setl_id"], "mdtrt_id": mdtrt_id,
                                             "psn_no": person}})  # fmt: skip
    assert cancel["infcode"] == 0, cancel
    assert balance(world) == before


def _register(hospital: Client, person: str) -> str:
    reg = hospital.call("2201", {"data": {"psn_no": person, "insutype": "310",
                                          "begntime": "2024-03-01 09:00:00", "med_type": "11",
                                          "mdtrt_cert_type": "02", "mdtrt_cert_no": INSIDE,
                                          "ipt_otp_no": "OP2"}})  # fmt: skip
    assert reg["infcode"] == 0, reg
    mdtrt_id: str = reg["output"]["data"]["mdtrt_id"]
    return mdtrt_id


def _visit(world: World, mdtrt_id: str) -> tuple[str, str, dict[str, Any], list[str]]:
    """The visit as stored: status, med_type, details, and its fee lines' feedetl_sn."""
    with world.app.uow() as uow:
        visit = uow.session.scalars(
            select(NationalVisit).where(NationalVisit.mdtrt_id == mdtrt_id)
        ).one()
        lines = uow.session.scalars(
            select(NationalFeeLine.feedetl_sn)
            .where(NationalFeeLine.visit_id == visit.id)
            .order_by(NationalFeeLine.feedetl_sn)
        ).all()
        return visit.status, visit.med_type, json.loads(visit.details), list(lines)


def test_a_cancelled_registration_loses_its_fee_lines_and_takes_no_more(
    world: World, hospital: Client
) -> None:
    person = psn_no(world)
    mdtrt_id = _register(hospital, person)
    up = hospital.call("2204", {"feedetail": [_fee(mdtrt_id, person, "1", "20.00")]})
    assert up["infcode"] == 0, up
    counts, stored = written(world.app), _visit(world, mdtrt_id)
    wrong = hospital.call("2202", {"data": {"mdtrt_id": mdtrt_id, "psn_no": "999999"}})
    assert wrong["infcode"] == -1
    assert "psn_no: '999999'" in wrong["err_msg"]
    assert written(world.app) == counts
    assert _visit(world, mdtrt_id) == stored

    done = hospital.call("2202", {"data": {"mdtrt_id": mdtrt_id, "psn_no": person}})
    assert done["infcode"] == 0, done
    assert done["output"] == {}
    status, _, _, lines = _visit(world, mdtrt_id)
    assert (status, lines) == ("cancelled", [])
    late = hospital.call("2204", {"feedetail": [_fee(mdtrt_id, person, "2", "5.00")]})
    assert late["infcode"] == -1
    assert "cancelled" in late["err_msg"]


def test_visit_information_is_kept_with_the_open_visit(world: World, hospital: Client) -> None:
    person = psn_no(world)
    mdtrt_id = _register(hospital, person)
    info = {"mdtrt_id": mdtrt_id, "psn_no": person, "med_type": "14",
            "begntime": "2024-03-01 09:00:00", "main_cond_dscr": "cough", "dise_codg": "J00",
            "dise_name": "Common cold"}  # fmt: skip
    diseinfo = [{"psn_no": person, "diag_type": "1", "diag_srt_no": "1", "diag_code": "J00",
                 "diag_name": "Common cold", "diag_dept": "Internal medicine",
                 "dise_dor_no": "D1", "dise_dor_name": "Dr",
                 "diag_time": "2024-03-01 09:10:00", "vali_flag": "1"}]  # fmt: skip
    counts, stored = written(world.app), _visit(world, mdtrt_id)
    unknown = hospital.call(
        "2203", {"mdtrtinfo": {**info, "mdtrt_id": "NO-SUCH-VISIT"}, "diseinfo": diseinfo}
    )
    assert unknown["infcode"] == -1
    assert "mdtrt_id: 'NO-SUCH-VISIT'" in unknown["err_msg"]
    assert written(world.app) == counts
    assert _visit(world, mdtrt_id) == stored

    done = hospital.call("2203", {"mdtrtinfo": info, "diseinfo": diseinfo})
    assert done["infcode"] == 0, done
    assert done["output"] == {}
    status, med_type, details, _ = _visit(world, mdtrt_id)
    assert (status, med_type) == ("open", "14")
    assert (details["dise_codg"], details["diseinfo"]) == ("J00", diseinfo)
    assert details["ipt_otp_no"] == "OP2"  # the registration's fields stay


def test_a_deleted_fee_batch_is_left_out_of_the_presettlement(
    world: World, hospital: Client
) -> None:
    person = psn_no(world)
    mdtrt_id = _register(hospital, person)
    lines = [_fee(mdtrt_id, person, "1", "20.00", "B1"), _fee(mdtrt_id, person, "2", "5.00", "B2")]
    assert hospital.call("2204", {"feedetail": lines})["infcode"] == 0
    counts = written(world.app)
    wrong = hospital.call("2205", {"data": {"mdtrt_id": mdtrt_id, "psn_no": "999999",
                                            "chrg_bchno": "B2"}})  # fmt: skip
    assert wrong["infcode"] == -1
    assert "psn_no: '999999'" in wrong["err_msg"]
    assert written(world.app) == counts
    assert _visit(world, mdtrt_id)[3] == ["1", "2"]
    no_batch = hospital.call("2205", {"data": {"mdtrt_id": mdtrt_id, "psn_no": person,
                                               "chrg_bchno": "B9"}})  # fmt: skip
    assert no_batch["infcode"] == -1
    assert "chrg_bchno: 'B9'" in no_batch["err_msg"]
    assert _visit(world, mdtrt_id)[3] == ["1", "2"]

    done = hospital.call("2205", {"data": {"mdtrt_id": mdtrt_id, "psn_no": person,
                                           "chrg_bchno": "B2"}})  # fmt: skip
    assert done["infcode"] == 0, done
    assert done["output"] == {}
    assert _visit(world, mdtrt_id)[3] == ["1"]
    pre = hospital.call("2206", {"data": {"psn_no": person, "mdtrt_cert_type": "02",
                                          "mdtrt_cert_no": INSIDE, "mdtrt_id": mdtrt_id,
                                          "medfee_sumamt": Decimal("20.00"),
                                          "acct_used_flag": "1"}})  # fmt: skip
    assert pre["infcode"] == 0, pre
    assert [c["feedetl_sn"] for c in pre["output"]["detlcutinfo"]] == ["1"]
    assert hospital.call("2204", {"feedetail": lines[1:]})["infcode"] == 0  # its sn is free
    every = hospital.call("2205", {"data": {"mdtrt_id": mdtrt_id, "psn_no": person,
                                            "chrg_bchno": "0000"}})  # fmt: skip
    assert every["infcode"] == 0, every
    assert _visit(world, mdtrt_id)[3] == []
