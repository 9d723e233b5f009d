"""The field types the protocol documents for a settlement's output (issue #14): amounts are
JSON numbers with two decimals, dates and times strings in its formats, codes strings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

SETLINFO_AMOUNTS = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
    "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "cvlserv_pay", "hifes_pay", "hifmi_pay",
    "hifob_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay",
    "psn_cash_pay", "hosp_part_amt", "balc", "acct_mulaid_pay",
)  # fmt: skip
SETLINFO_TEXTS = (
    "mdtrt_id", "setl_id", "psn_no", "psn_name", "psn_cert_type", "certno", "gend", "naty",
    "insutype", "psn_type", "cvlserv_flag", "mdtrt_cert_type", "med_type", "medins_setl_id",
    "clr_optins", "clr_way", "clr_type",
)  # fmt: skip
DETLCUTINFO_AMOUNTS = ("det_item_fee_sumamt", "fulamt_ownpay_amt", "preselfpay_amt",
                       "inscp_scp_amt")  # fmt: skip


def is_amount(value: Any) -> bool:
    """A JSON number written with two decimals, as read by `Client.call` (Decimal)."""
    return isinstance(value, Decimal) and value.as_tuple().exponent == -2


def is_formatted(value: Any, layout: str) -> bool:
    """A string in `layout` (a strptime format)."""
    if not isinstance(value, str):
        return False
    try:
        dt.datetime.strptime(value, layout)
    except ValueError:
        return False
    return True


def check_settlement_output(output: Mapping[str, Any]) -> None:
    """Every documented setlinfo field with its type; the amounts of setldetail and
    detlcutinfo too."""
    setl = output["setlinfo"]
    assert set(setl) == {*SETLINFO_AMOUNTS, *SETLINFO_TEXTS, "brdy", "age", "setl_time"}
    wrong = {name: setl[name] for name in SETLINFO_AMOUNTS if not is_amount(setl[name])}
    assert not wrong, wrong
    texts = {name: setl[name] for name in SETLINFO_TEXTS if not isinstance(setl[name], str)}
    assert not texts, texts
    assert is_formatted(setl["brdy"], "%Y-%m-%d"), setl["brdy"]
    assert is_formatted(setl["setl_time"], "%Y-%m-%d %H:%M:%S"), setl["setl_time"]
    assert type(setl["age"]) is int
    for detail in output["setldetail"]:
        assert isinstance(detail["fund_pay_type"], str)
        assert all(is_amount(detail[name]) for name in ("fund_payamt", "inscp_scp_amt")), detail
    for line in output["detlcutinfo"]:
        assert all(is_amount(line[name]) for name in DETLCUTINFO_AMOUNTS), line
        assert all(isinstance(line[name], str) for name in ("feedetl_sn", "chrgitm_lv")), line
