"""The protocol's output blocks built from the services' results: baseinfo, insuinfo,
setlinfo, setldetail, detlcutinfo. Amounts become JSON numbers with two decimals here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from yibao.domain.months import age_on
from yibao.domain.national import yuan
from yibao.services.national.bills import CutLine, SettledBill
from yibao.services.national.people import Insured

ID_CARD_CERT = "01"  # psn_cert_type: 居民身份证
FUND_PAY_TYPE_NAME = {"310100": "职工基本医疗保险统筹基金", "390100": "城乡居民基本医疗保险基金"}


def day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def gend(sex: str) -> str:
    return "1" if sex == "M" else "2"


def baseinfo(person: Insured, on: dt.date) -> dict[str, Any]:
    return {
        "psn_no": str(person.person_id),
        "psn_cert_type": ID_CARD_CERT,
        "certno": person.id_number,
        "psn_name": person.name,
        "gend": gend(person.sex),
        "naty": "",  # yibao's registry keeps no ethnicity
        "brdy": person.birth_date.isoformat(),
        "age": age_on(person.birth_date, on),
    }


def insuinfo(person: Insured) -> list[dict[str, Any]]:
    return [
        {
            "balc": yuan(person.balance_fen),
            "insutype": person.codes.insutype,
            "psn_type": person.codes.psn_type,
            "psn_insu_stas": "1",  # insured (正常参保): a person in no scheme is refused
            "psn_insu_date": day(person.insured_since),
            "paus_insu_date": day(person.insured_until),
            "cvlserv_flag": "0",
            "insuplc_admdvs": person.area_code,
            "emp_name": person.employer_name or "",
        }
    ]


def setlinfo(
    bill: SettledBill, *, mdtrt_id: str, setl_time: str, on: dt.date, clr_optins: str
) -> dict[str, Any]:
    person, cut = bill.person, bill.cut
    return {
        "mdtrt_id": mdtrt_id,
        "setl_id": "" if bill.setl_id is None else str(bill.setl_id),
        "psn_no": str(person.person_id),
        "psn_name": person.name,
        "psn_cert_type": ID_CARD_CERT,
        "certno": person.id_number,
        "gend": gend(person.sex),
        "naty": "",
        "brdy": person.birth_date.isoformat(),
        "age": age_on(person.birth_date, on),
        "insutype": bill.insutype,
        "psn_type": bill.psn_type,
        "cvlserv_flag": "0",
        "setl_time": setl_time,
        "mdtrt_cert_type": bill.cert_type,
        "med_type": bill.med_type,
        "medfee_sumamt": yuan(cut.medfee_sumamt),
        "fulamt_ownpay_amt": yuan(cut.fulamt_ownpay_amt),
        "overlmt_selfpay": yuan(cut.overlmt_selfpay),
        "preselfpay_amt": yuan(cut.preselfpay_amt),
        "inscp_scp_amt": yuan(cut.inscp_scp_amt),
        "act_pay_dedc": yuan(cut.act_pay_dedc),
        "hifp_pay": yuan(cut.fund_pay_sumamt),
        "pool_prop_selfpay": yuan(cut.pool_prop_selfpay),
        "cvlserv_pay": yuan(0),
        "hifes_pay": yuan(0),
        "hifmi_pay": yuan(0),
        "hifob_pay": yuan(0),
        "maf_pay": yuan(0),
        "oth_pay": yuan(0),
        "fund_pay_sumamt": yuan(cut.fund_pay_sumamt),
        "psn_part_amt": yuan(cut.psn_part_amt),
        "acct_pay": yuan(cut.acct_pay),
        "psn_cash_pay": yuan(cut.psn_cash_pay),
        "hosp_part_amt": yuan(0),
        "balc": yuan(bill.balance_after_fen),
        "acct_mulaid_pay": yuan(bill.family_fen),
        "medins_setl_id": "",
        "clr_optins": clr_optins,
        "clr_way": "1",
        "clr_type": bill.clr_type,
    }


def setldetail(bill: SettledBill) -> list[dict[str, Any]]:
    if bill.cut.fund_pay_sumamt == 0:
        return []
    kind = f"{bill.insutype}100"
    return [
        {
            "fund_pay_type": kind,
            "inscp_scp_amt": yuan(bill.cut.inscp_scp_amt),
            "crt_payb_lmt_amt": yuan(0),
            "fund_payamt": yuan(bill.cut.fund_pay_sumamt),
            "fund_pay_type_name": FUND_PAY_TYPE_NAME.get(kind, kind),
            "setl_proc_info": "",
        }
    ]


def detlcutinfo(bill: SettledBill) -> list[dict[str, Any]]:
    return detlcutinfo_of_cut(bill.lines)


def detlcutinfo_of_cut(lines: Sequence[CutLine]) -> list[dict[str, Any]]:
    return [
        {
            "feedetl_sn": c.line.feedetl_sn,
            "pric": c.line.price,
            "cnt": c.line.quantity,
            "det_item_fee_sumamt": yuan(c.line.amount_fen),
            "fulamt_ownpay_amt": yuan(c.verdict.fulamt_ownpay_fen),
            "preselfpay_amt": yuan(c.verdict.preselfpay_fen),
            "inscp_scp_amt": yuan(c.verdict.eligible_fen),
            "selfpay_prop": c.verdict.selfpay_prop,
            "chrgitm_lv": c.verdict.item_class.chrgitm_lv,
            "med_list_codg": c.line.code,
        }
        for c in lines
    ]


def settlement_output(
    bill: SettledBill, *, mdtrt_id: str, setl_time: str, on: dt.date, clr_optins: str
) -> dict[str, Any]:
    return {
        "setlinfo": setlinfo(
            bill, mdtrt_id=mdtrt_id, setl_time=setl_time, on=on, clr_optins=clr_optins
        ),
        "setldetail": setldetail(bill),
        "detlcutinfo": detlcutinfo(bill),
    }
