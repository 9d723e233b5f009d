"""The national interface end to end: sign-in, person info, pharmacy pre-settlement,
settlement, a repeated msgid, cancel, reversal, reconciliation, and the refusals."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.api.world import CARD, INSIDE, PIN, World
from tests.e2e.national.client import Client, written
from tests.e2e.national.shapes import check_settlement_output, is_amount, is_formatted
from yibao.bootstrap import App
from yibao.domain.months import age_on
from yibao.ledger import accounts
from yibao.services import cards, catalogue
from yibao.services.national import gateway
from yibao.services.registry import person_by_id_number


@pytest.fixture(scope="module")
def his(world: World) -> Client:
    client = Client(world.app, world.client, "P001")
    client.sign_in()
    with world.app.uow() as uow:
        catalogue.load(
            uow=uow,
            area_code="420100",
            from_month="2024-01",
            entries=catalogue.parse_csv(
                "code,name,class,selfpay_prop\nDRUG-A,Aspirin,A,0\nDRUG-B,Statin,B,0.10\n"
                "DRUG-C,Tonic,C,0\n"
            ),
        )
    return client


def balance(world: World) -> int:
    with world.app.uow() as uow:
        person = person_by_id_number(uow=uow, id_number=INSIDE)
        return uow.ledger.balance_of(accounts.personal_account(person.area_code, person.id))


def psn_no(world: World) -> str:
    with world.app.uow() as uow:
        return str(person_by_id_number(uow=uow, id_number=INSIDE).id)


def purchase(world: World, *, pin: str = PIN, card: str = CARD) -> dict[str, Any]:
    return {
        "druginfo": {
            "psn_no": psn_no(world),
            "mdtrt_cert_type": "03",
            "mdtrt_cert_no": card,
            "begntime": "2024-03-01 10:00:00",
            "medfee_sumamt": Decimal("30.00"),
            "insutype": "310",
            "acct_used_flag": "1",
            "med_type": "41",
            "invono": "",
            "dise_codg": "",
            "dise_name": "",
            "exp_content": {"card_pin": pin},
        },
        "drugdetail": [
            _line("1", "DRUG-A", "10.00"),
            _line("2", "DRUG-B", "10.00"),
            _line("3", "DRUG-C", "10.00"),
        ],
    }


def _line(sn: str, code: str, amount: str) -> dict[str, Any]:
    return {
        "feedetl_sn": sn,
        "rxno": "",
        "rx_circ_flag": "0",
        "fee_ocur_time": "2024-03-01 10:00:00",
        "med_list_codg": code,
        "medins_list_codg": code,
        "det_item_fee_sumamt": Decimal(amount),
        "cnt": 1,
        "pric": Decimal(amount),
        "bilg_dr_codg": "D1",
        "bilg_dr_name": "Dr",
    }


def test_person_info_reads_the_person_and_the_balance(world: World, his: Client) -> None:
    out = his.call(
        "1101",
        {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": CARD, "card_sn": "",
                  "begntime": "", "psn_cert_type": "", "certno": "", "psn_name": "",
                  "exp_content": {"card_pin": PIN}}},
    )  # fmt: skip
    assert out["infcode"] == 0, out
    base, insu = out["output"]["baseinfo"], out["output"]["insuinfo"][0]
    assert base["certno"] == INSIDE
    assert base["psn_no"] == psn_no(world)
    assert base["gend"] == "1"
    assert base["brdy"] == "1985-05-01"
    assert base["age"] == age_on(__import__("datetime").date(1985, 5, 1), world.app.today())
    assert insu["insutype"] == "310"
    assert Decimal(str(insu["balc"])) * 100 == balance(world)


def test_presettlement_moves_nothing_and_settlement_moves_once(world: World, his: Client) -> None:
    before, counts = balance(world), written(world.app)
    pre = his.call("2101", purchase(world))
    assert pre["infcode"] == 0, pre
    assert balance(world) == before
    assert written(world.app)[:2] == counts[:2]
    info = pre["output"]["setlinfo"]
    # A 10.00 eligible, B 10.00 with 1.00 paid first, C 10.00 outside: 19.00 eligible
    assert info["inscp_scp_amt"] == 19.0
    assert info["preselfpay_amt"] == 1.0
    assert info["fulamt_ownpay_amt"] == 10.0
    assert [c["chrgitm_lv"] for c in pre["output"]["detlcutinfo"]] == ["01", "02", "03"]

    body = his.envelope("2102", purchase(world))
    first = his.send(body).json()
    assert first["infcode"] == 0, first
    setl = first["output"]["setlinfo"]
    paid = min(1900, before)
    assert setl["acct_pay"] * 100 == paid
    assert balance(world) == before - paid
    assert setl["balc"] * 100 == before - paid
    assert (
        setl["medfee_sumamt"] == setl["fund_pay_sumamt"] + setl["acct_pay"] + setl["psn_cash_pay"]
    )
    assert setl["psn_part_amt"] == setl["medfee_sumamt"] - setl["fund_pay_sumamt"]
    assert '"medfee_sumamt":30.00' in his.send(body).text  # two decimals, and: a repeat
    again = his.send(body).json()
    assert again["output"] == first["output"]
    assert balance(world) == before - paid  # the repeated msgid moved nothing

    cancel = his.call("2103", {"data": {"setl_id": setl["setl_id"], "psn_no": setl["psn_no"]}})
    assert cancel["infcode"] == 0, cancel
    assert balance(world) == before


def test_a_settlement_writes_amounts_as_two_decimal_numbers_and_codes_as_strings(
    world: World, his: Client
) -> None:
    bill = purchase(world)
    bill["drugdetail"][0].update(det_item_fee_sumamt=Decimal("12.30"), pric=Decimal("12.30"))
    bill["druginfo"]["medfee_sumamt"] = Decimal("32.30")
    pre = his.call("2101", bill)
    body = his.envelope("2102", bill)
    raw = his.send(body).text
    assert '"medfee_sumamt":32.30,' in raw  # the number 32.30: not "32.30", not 32.3
    done = his.call("2102", bill, msgid=body["msgid"])  # the same msgid: the answer kept
    for answer in (pre, done):
        assert answer["infcode"] == 0, answer
        check_settlement_output(answer["output"])
    assert pre["output"]["setlinfo"]["setl_id"] == ""
    assert done["output"]["setlinfo"]["setl_id"].isdigit()
    assert done["output"]["setlinfo"]["medfee_sumamt"] == Decimal("32.30")

    setl = done["output"]["setlinfo"]
    cancel = his.call("2103", {"data": {"setl_id": setl["setl_id"], "psn_no": setl["psn_no"]}})
    assert cancel["infcode"] == 0, cancel
    cancelled = cancel["output"]["setlinfo"]
    assert (cancelled["setl_id"], cancelled["psn_no"]) == (setl["setl_id"], setl["psn_no"])
    assert all(is_amount(v) for k, v in cancelled.items() if k not in ("setl_id", "psn_no"))
    assert cancelled["medfee_sumamt"] == Decimal("-32.30")
    assert is_formatted(cancel["refmsg_time"], "%Y-%m-%d %H:%M:%S")


def test_a_signed_out_sign_no_is_refused_until_the_operator_signs_in_again(
    world: World, his: Client
) -> None:
    till = Client(world.app, world.client, "P001")  # another operator: `his` stays signed in
    till.sign_in()
    counts = written(world.app)
    unknown = till.call("9002", {"signOut": {"sign_no": "20240101000000" + "f" * 16,
                                             "opter_no": "001"}})  # fmt: skip
    assert unknown["infcode"] == -1
    assert "sign_no: '20240101000000ffffffffffffffff'" in unknown["err_msg"]
    assert written(world.app) == counts

    out = till.call("9002", {"signOut": {"sign_no": till.sign_no, "opter_no": "001"}})
    assert out["infcode"] == 0, out
    assert is_formatted(out["output"]["signoutoutb"]["sign_time"], "%Y-%m-%d %H:%M:%S")
    signed_out = till.sign_no
    for infno, given in (("1101", _person_info(CARD, PIN)), ("2101", purchase(world))):
        refused = till.call(infno, given)
        assert refused["infcode"] == -1
        assert f"sign_no: {signed_out!r}" in refused["err_msg"], refused
    again = till.call("9002", {"signOut": {"sign_no": signed_out, "opter_no": "001"}})
    assert again["infcode"] == -1
    assert his.call("1101", _person_info(CARD, PIN))["infcode"] == 0  # other sign-ins stand
    till.sign_in()
    assert till.sign_no != signed_out
    assert till.call("1101", _person_info(CARD, PIN))["infcode"] == 0


def _person_info(card: str, pin: str) -> dict[str, Any]:
    return {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": card, "card_sn": "",
                     "begntime": "", "psn_cert_type": "", "certno": "", "psn_name": "",
                     "exp_content": {"card_pin": pin}}}  # fmt: skip


def test_reversal_gives_a_lost_settlement_back_and_bars_one_never_arrived(
    world: World, his: Client
) -> None:
    before = balance(world)
    body = his.envelope("2102", purchase(world))
    assert his.send(body).json()["infcode"] == 0
    assert balance(world) < before
    out = his.call("2601", {"data": {"psn_no": psn_no(world), "omsgid": body["msgid"],
                                     "oinfno": "2102"}})  # fmt: skip
    assert out["infcode"] == 0, out
    assert balance(world) == before
    never = his.envelope("2102", purchase(world))
    out = his.call("2601", {"data": {"psn_no": psn_no(world), "omsgid": never["msgid"],
                                     "oinfno": "2102"}})  # fmt: skip
    assert out["infcode"] == 0, out
    late = his.send(never).json()
    assert late["infcode"] == -1
    assert balance(world) == before


def test_reconciliation_balances_without_cancelled_settlements(world: World, his: Client) -> None:
    body = his.envelope("2102", purchase(world))
    setl = his.send(body).json()["output"]["setlinfo"]
    from sqlalchemy import func, select

    from yibao.adapters.tables import Settlement

    with world.app.uow() as uow:
        total, fund, acct, count = uow.session.execute(
            select(func.sum(Settlement.total_fen), func.sum(Settlement.fund_fen),
                   func.sum(Settlement.personal_fen), func.count())
            .where(Settlement.refunded_on.is_(None), Settlement.clr_type == "41",
                   Settlement.insutype == "310", Settlement.ref.like("P001%"))
        ).one()  # fmt: skip
    assert total >= 3000
    day = setl["setl_time"][:10]
    data = {"insutype": "310", "clr_type": "41", "setl_optins": "420100",
            "stmt_begndate": day, "stmt_enddate": day,
            "medfee_sumamt": Decimal(total) / 100, "fund_pay_sumamt": Decimal(fund) / 100,
            "acct_pay": Decimal(acct) / 100, "fixmedins_setl_cnt": count}  # fmt: skip
    ok = his.call("3201", {"data": data})
    assert ok["output"]["stmtinfo"]["stmt_rslt"] == "0", ok
    off = his.call("3201", {"data": {**data, "fixmedins_setl_cnt": count + 1}})
    assert off["output"]["stmtinfo"]["stmt_rslt"] == "1"
    assert "fixmedins_setl_cnt" in off["output"]["stmtinfo"]["stmt_rslt_dscr"]


def test_gateway_refusals_answer_401_and_write_nothing(world: World, his: Client) -> None:
    counts, before = written(world.app), balance(world)
    body = his.envelope("2102", purchase(world))
    bad = his.headers()
    bad["x-tif-signature"] = "0" * 64
    assert his.send(body, bad).status_code == 401
    assert his.send(body, his.headers(timestamp=int(time.time()) - 301)).status_code == 401
    used = his.headers(nonce="the-same-nonce")
    assert his.send(his.envelope("9001", {}), used).status_code == 200  # refused in the envelope
    assert his.send(body, used).status_code == 401
    missing = his.headers()
    del missing["x-tif-nonce"]
    assert his.send(body, missing).status_code == 401
    assert written(world.app) == counts
    assert balance(world) == before


def test_a_rotated_token_signs_at_once_and_the_old_one_is_refused_at_once(
    world: World, his: Client
) -> None:
    """The server keeps the credentials it read; a rotation by another process (the CLI: here
    an engine object of its own, which the server's kept credentials are not filed under) is
    seen at the next request all the same, both ways."""
    his.sign_in()  # the server has read the token and keeps it
    old = his.token
    elsewhere = App(world.app.engine.execution_options())
    with elsewhere.uow() as uow:
        new = gateway.credentials(uow=uow, institution_code="P001", rotate=True).token
    assert new != old
    counts = written(world.app)
    try:
        refused = his.send(his.envelope("9001", {}))  # still signed with the old token
        assert refused.status_code == 401
        assert "x-tif-signature" in refused.json()["err_msg"]
        assert written(world.app) == counts
        his.token = new
        his.sign_in()  # signed with the new one: answered at once
        his.token = old
        assert his.send(his.envelope("9001", {})).status_code == 401
    finally:
        his.token = new


@pytest.mark.parametrize(
    ("change", "word"),
    [
        (lambda b: b.update(fixmedins_code="P900"), "fixmedins_code"),
        (lambda b: b.update(sign_no="nosuchsign"), "sign_no"),
        (lambda b: b.update(infno="9999"), "infno"),
        (lambda b: b["input"]["druginfo"].pop("medfee_sumamt"), "medfee_sumamt"),
        (lambda b: b["input"]["druginfo"].update(exp_content={"card_pin": "000000"}), "PIN"),
        (lambda b: b["input"]["druginfo"].update(psn_no="999999"), "psn_no"),
    ],
)
def test_envelope_refusals_answer_minus_one_naming_the_field_and_write_nothing(
    world: World, his: Client, change: Any, word: str
) -> None:
    before = balance(world)
    body = his.envelope("2102", purchase(world))
    change(body)
    counts = written(world.app)
    out = his.send(body).json()
    assert out["infcode"] == -1
    assert word.lower() in out["err_msg"].lower(), out
    assert written(world.app) == counts
    assert balance(world) == before


def test_a_wrong_pin_in_a_settlement_is_counted_and_the_right_one_clears_it(
    world: World, his: Client
) -> None:
    """The PIN pad's PIN is tried as at yibao's own POS: a wrong one stays counted although
    the settlement it refused wrote nothing else; a right one clears the count."""
    before = _tries(world)  # the world is shared: an earlier test may have left one
    for attempt in (1, 2):
        out = his.send(his.envelope("2102", purchase(world, pin="000000"))).json()
        assert out["infcode"] == -1
        assert _tries(world) == before + attempt
    assert his.send(his.envelope("2102", purchase(world))).json()["infcode"] == 0
    assert _tries(world) == 0


def _tries(world: World) -> int:
    with world.app.uow() as uow:
        return int(cards.card_by_number(uow=uow, card_no=CARD).failed_pin_tries)
