"""The protocol's envelope: the request's fields read and checked, the response written."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from yibao.domain.errors import InvalidInput
from yibao.domain.national import check_msgid, to_json

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True, slots=True)
class Envelope:
    infno: str
    msgid: str
    fixmedins_code: str
    opter: str
    sign_no: str | None
    input: Mapping[str, Any]


def parse_body(body: bytes) -> Mapping[str, Any]:
    """The request as JSON, its numbers read exactly (no binary floating point)."""
    try:
        found = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("body", body[:40].decode(errors="replace"), "is not JSON") from None
    if not isinstance(found, dict):
        raise InvalidInput("body", type(found).__name__, "is not a JSON object")
    return found


def envelope_of(request: Mapping[str, Any]) -> Envelope:
    for name in ("infno", "msgid", "fixmedins_code", "opter", "inf_time", "input"):
        if request.get(name) in (None, ""):
            raise InvalidInput(name, request.get(name), "is missing")
    given = request["input"]
    if not isinstance(given, dict):
        raise InvalidInput("input", given, "is not a JSON object")
    infno = str(request["infno"])
    sign_no = request.get("sign_no")
    return Envelope(
        infno,
        check_msgid(request["msgid"]),
        str(request["fixmedins_code"]),
        str(request["opter"]),
        None if sign_no in (None, "") else str(sign_no),
        given,
    )


def stamp() -> str:
    return dt.datetime.now().strftime(TIME_FORMAT)


def response(msgid: str | None, answer: Mapping[str, Any]) -> bytes:
    """The response envelope around an answer ({infcode, err_msg, output})."""
    now = stamp()
    return to_json(
        {
            "infcode": answer["infcode"],
            "inf_refmsgid": msgid or "",
            "refmsg_time": now,
            "respond_time": now,
            "err_msg": answer.get("err_msg") or None,
            "output": answer.get("output") or {},
        }
    ).encode()


def success(output: Mapping[str, Any]) -> dict[str, Any]:
    return {"infcode": 0, "err_msg": "", "output": dict(output)}


def failure(message: str) -> dict[str, Any]:
    return {"infcode": -1, "err_msg": message, "output": {}}


def section(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    found = data.get(name)
    if not isinstance(found, dict):
        raise InvalidInput(f"input.{name}", found, "is missing or not a JSON object")
    return found


def rows(data: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    found = data.get(name)
    if not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
        raise InvalidInput(f"input.{name}", found, "is missing or not a list of JSON objects")
    return found


def text(data: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = data.get(name)
    if value in (None, ""):
        if required:
            raise InvalidInput(name, value, "is missing")
        return ""
    if isinstance(value, dict | list):
        raise InvalidInput(name, value, "is not a text value")
    return str(value)


def day_of(value: str, *, field: str) -> dt.date:
    for layout in (TIME_FORMAT, "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value, layout).date()
        except ValueError:
            continue
    raise InvalidInput(field, value, "is not a date (yyyy-MM-dd or yyyy-MM-dd HH:mm:ss)")


def time_of(value: str, *, field: str) -> dt.datetime:
    for layout in (TIME_FORMAT, "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value, layout)
        except ValueError:
            continue
    raise InvalidInput(field, value, "is not a time (yyyy-MM-dd HH:mm:ss)")


def pin_of(data: Mapping[str, Any]) -> str | None:
    """The card PIN from the terminal's PIN pad: `exp_content: {"card_pin": ...}` in the data
    (an object, or the JSON text of one, as some clients send it)."""
    extra = data.get("exp_content")
    if isinstance(extra, str) and extra.strip().startswith("{"):
        try:
            extra = json.loads(extra)
        except ValueError:
            raise InvalidInput("exp_content", "(not shown)", "is not JSON") from None
    if isinstance(extra, dict) and extra.get("card_pin") not in (None, ""):
        return str(extra["card_pin"])
    return None
