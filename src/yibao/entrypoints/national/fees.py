"""Fee detail lines as the protocol writes them (drugdetail, feedetail)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from yibao.domain.errors import InvalidInput
from yibao.domain.money import parse_decimal
from yibao.domain.national import fen_of
from yibao.entrypoints.national.envelope import text
from yibao.services.national.bills import FeeLine


def fee_line(row: Mapping[str, Any], index: int, block: str) -> FeeLine:
    where = f"{block}[{index}]"
    sn = text(row, "feedetl_sn")
    if len(sn) > 30:
        raise InvalidInput(f"{where}.feedetl_sn", sn, "is longer than 30 characters")
    code = text(row, "med_list_codg")
    if len(code) > 60:
        raise InvalidInput(f"{where}.med_list_codg", code, "is longer than 60 characters")
    for name in ("det_item_fee_sumamt", "cnt", "pric"):
        if row.get(name) in (None, ""):
            raise InvalidInput(f"{where}.{name}", row.get(name), "is missing")
    quantity = parse_decimal(row["cnt"], field=f"{where}.cnt")
    price = parse_decimal(row["pric"], field=f"{where}.pric")
    if price < 0:
        raise InvalidInput(f"{where}.pric", row["pric"], "must not be negative")
    amount = fen_of(row["det_item_fee_sumamt"], field=f"{where}.det_item_fee_sumamt")
    return FeeLine(sn, code, quantity, price, amount)


def amount(data: Mapping[str, Any], name: str) -> int:
    if data.get(name) in (None, ""):
        raise InvalidInput(name, data.get(name), "is missing")
    return fen_of(data[name], field=name)


def flag(data: Mapping[str, Any], name: str) -> bool:
    value = text(data, name)
    if value not in ("0", "1"):
        raise InvalidInput(name, value, "is not 0 or 1")
    return value == "1"


def psn_no(data: Mapping[str, Any]) -> int:
    value = text(data, "psn_no")
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput("psn_no", value, "is not a person number")
    return int(value)


__all__ = ["Decimal", "amount", "fee_line", "flag", "psn_no"]
