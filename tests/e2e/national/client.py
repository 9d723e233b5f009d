"""A national-platform client as an institution's HIS runs it: signs each request."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
import uuid
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import func, select

from yibao.adapters.tables import LedgerTransfer, NationalMessage, Settlement
from yibao.bootstrap import App
from yibao.domain.national import gateway_signature, to_json
from yibao.services.national import gateway

PATH = "/fsi/api/rsfComIfsService/callService"
_SEQ = itertools.count(1)


def msgid(code: str) -> str:
    stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    return f"{code:0<12}"[:12] + stamp + f"{next(_SEQ) % 10000:04d}"


class Http(Protocol):
    """What the client needs of an HTTP client: FastAPI's TestClient, or one to a real server."""

    def post(self, url: str, *, content: str, headers: dict[str, str]) -> Any: ...


class Client:
    def __init__(self, app: App, http: Http, code: str) -> None:
        with app.uow() as uow:
            found = gateway.credentials(uow=uow, institution_code=code, rotate=False)
        self.app, self.http, self.code = app, http, code
        self.paasid, self.token = found.paasid, found.token
        self.sign_no = ""

    def headers(self, *, timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        once = nonce or uuid.uuid4().hex
        return {
            "x-tif-paasid": self.paasid,
            "x-tif-timestamp": stamp,
            "x-tif-nonce": once,
            "x-tif-signature": gateway_signature(stamp, self.token, once),
        }

    def envelope(self, infno: str, given: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "infno": infno,
            "msgid": msgid(self.code),
            "mdtrtarea_admvs": "420100",
            "insuplc_admdvs": "420100",
            "recer_sys_code": "HIS",
            "dev_no": "",
            "dev_safe_info": "",
            "cainfo": "",
            "signtype": "SM2",
            "infver": "V1.0",
            "opter_type": "1",
            "opter": "001",
            "opter_name": "Li Si",
            "inf_time": dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "fixmedins_code": self.code,
            "fixmedins_name": "Pharmacy",
            "sign_no": self.sign_no,
            "input": given,
            **extra,
        }

    def send(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        return self.http.post(
            PATH,
            content=to_json(body),
            headers={"Content-Type": "application/json", **(headers or self.headers())},
        )

    def call(self, infno: str, given: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return read(self.send(self.envelope(infno, given, **extra)))

    def sign_in(self) -> None:
        out = self.call("9001", {"signIn": {"opter_no": "001", "mac": "", "ip": "127.0.0.1"}})
        assert out["infcode"] == 0, out
        self.sign_no = out["output"]["signinoutb"]["sign_no"]


def read(answer: Any) -> dict[str, Any]:
    """An HTTP 200 answer, its numbers read exactly: 12.30 is Decimal("12.30")."""
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = json.loads(answer.text, parse_float=Decimal)
    return found


def written(app: App) -> tuple[int, int, int]:
    """Ledger transfers, settlements and kept answers: what a refusal must leave unchanged."""
    with app.uow() as uow:
        return (
            uow.session.scalar(select(func.count()).select_from(LedgerTransfer)) or 0,
            uow.session.scalar(select(func.count()).select_from(Settlement)) or 0,
            uow.session.scalar(select(func.count()).select_from(NationalMessage)) or 0,
        )
