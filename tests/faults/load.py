"""The mixed load: client threads that retry each request, with the same msgid or
Idempotency-Key, until they get a definite answer, and record what they were told.

A definite answer is any HTTP answer below 500 (for the national interface: infcode 0, a yes,
or -1, a no). A broken connection, a timeout or a 5xx is no answer: the client waits a little
and sends the same request again, until the run's deadline.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx2

from tests.faults.checker import Outcome
from tests.faults.city import (
    AREA,
    DRUG,
    EXAM,
    HOSPITAL,
    INTERRUPTED,
    PAID_IN_LOAD,
    PHARMACY,
    PIN,
    City,
    Holder,
)
from yibao.domain.national import gateway_signature, to_json

PATH = "/fsi/api/rsfComIfsService/callService"
KINDS = ("national_sale", "api_sale", "outpatient", "inquiry", "contribution")
WEIGHTS = (4, 3, 2, 2, 1)
_SEQUENCE = itertools.count(1)
_SEQUENCE_LOCK = threading.Lock()


@dataclass
class Tally:
    """What every client saw, shared (under a lock)."""

    requests: int = 0  # distinct requests (a retry is not a new one)
    attempts: int = 0
    retried: int = 0  # requests sent more than once
    cut: int = 0  # attempts that ended in a broken connection or a timeout
    server_errors: Counter[int] = field(default_factory=Counter)  # 5xx answers, by status
    outcomes: list[Outcome] = field(default_factory=list)
    by_kind: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)  # the first 5xx answers and refusals
    lock: threading.Lock = field(default_factory=threading.Lock)


class NoAnswer(Exception):
    """The deadline passed before a definite answer."""


class Clients:
    def __init__(self, port: int, city: City, seed: int, deadline: float) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.city, self.seed, self.deadline = city, seed, deadline
        self.tally = Tally()
        self.stopping = threading.Event()
        self.sign_nos: dict[str, str] = {}
        self._contributors = iter(city.holders)
        self._outpatients = city.holders[: max(4, len(city.holders) // 50)]  # reach their caps

    # -- the requests, each retried until it is answered ------------------------------------------
    def _definite(self, http: httpx2.Client, method: str, path: str, **kwargs: Any) -> Any:
        headers_of = kwargs.pop("headers_of", None)
        attempts = 0
        while True:
            attempts += 1
            if headers_of is not None:
                kwargs["headers"] = headers_of()
            try:
                answer = http.request(method, path, **kwargs)
            except httpx2.TransportError:
                answer = None
            with self.tally.lock:
                self.tally.attempts += 1
                if answer is None:
                    self.tally.cut += 1
                elif answer.status_code >= 500:
                    self.tally.server_errors[answer.status_code] += 1
                    self._sample(f"{answer.status_code} {path}: {answer.text[:300]}")
            if answer is not None and answer.status_code < 500:
                break
            if time.monotonic() > self.deadline:
                self._count(attempts)
                raise NoAnswer(path)
            time.sleep(0.05 + 0.1 * min(attempts, 10) * random.random())
        self._count(attempts)
        return answer

    def _count(self, attempts: int) -> None:
        with self.tally.lock:
            self.tally.requests += 1
            self.tally.retried += attempts > 1

    def national(
        self, http: httpx2.Client, code: str, infno: str, given: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """(msgid, answer) of one message, sent again with the same msgid until answered."""
        paasid, token = self.city.gateways[code]
        with _SEQUENCE_LOCK:
            number = next(_SEQUENCE)
        stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S")
        msgid = f"{code:0<12}{stamp}{number % 10_000:04d}"
        body = {
            "infno": infno, "msgid": msgid, "mdtrtarea_admvs": AREA, "insuplc_admdvs": AREA,
            "recer_sys_code": "FAULTS", "dev_no": "", "dev_safe_info": "", "cainfo": "",
            "signtype": "SM2", "infver": "V1.0", "opter_type": "1", "opter": "001",
            "opter_name": "Faults", "inf_time": dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "fixmedins_code": code, "fixmedins_name": code,
            "sign_no": self.sign_nos.get(code, ""), "input": given,
        }  # fmt: skip

        def headers() -> dict[str, str]:
            now, nonce = str(int(time.time())), uuid.uuid4().hex
            return {"Content-Type": "application/json", "x-tif-paasid": paasid,
                    "x-tif-timestamp": now, "x-tif-nonce": nonce,
                    "x-tif-signature": gateway_signature(now, token, nonce)}  # fmt: skip

        answer = self._definite(http, "POST", PATH, content=to_json(body), headers_of=headers)
        return msgid, dict(answer.json())

    def sign_in(self, http: httpx2.Client) -> None:
        for code in (PHARMACY, HOSPITAL):
            _, answer = self.national(http, code, "9001", {"signIn": {"opter_no": "001"}})
            if answer["infcode"] != 0:
                raise RuntimeError(f"sign-in of {code} refused: {answer}")
            self.sign_nos[code] = str(answer["output"]["signinoutb"]["sign_no"])

    def _api(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    # -- the kinds of work ----------------------------------------------------------------------
    def national_sale(self, http: httpx2.Client, rng: random.Random, holder: Holder) -> None:
        day = dt.date.today().isoformat()
        amount = Decimal(rng.randrange(100, 4000)) / 100
        given = {
            "druginfo": {
                "psn_no": str(holder.person_id), "mdtrt_cert_type": "03",
                "mdtrt_cert_no": holder.card_no, "begntime": f"{day} 10:00:00",
                "medfee_sumamt": amount, "insutype": "310", "acct_used_flag": "1",
                "med_type": "41", "invono": "", "dise_codg": "", "dise_name": "",
                "exp_content": {"card_pin": PIN},
            },
            "drugdetail": [{
                "feedetl_sn": "1", "rxno": "", "rx_circ_flag": "0",
                "fee_ocur_time": f"{day} 10:00:00", "med_list_codg": DRUG,
                "medins_list_codg": DRUG, "det_item_fee_sumamt": amount, "cnt": 1,
                "pric": amount, "bilg_dr_codg": "D1", "bilg_dr_name": "Dr",
            }],
        }  # fmt: skip
        msgid, answer = self.national(http, PHARMACY, "2102", given)
        self._settled(PHARMACY, msgid, answer)

    def _settled(self, code: str, msgid: str, answer: dict[str, Any]) -> None:
        yes = answer["infcode"] == 0
        paid = round(Decimal(str(answer["output"]["setlinfo"]["acct_pay"])) * 100) if yes else None
        self._outcome(Outcome("settlement", code, msgid, yes, not yes, paid), str(answer))

    def api_sale(self, http: httpx2.Client, rng: random.Random, holder: Holder) -> None:
        ref = f"API-{uuid.UUID(int=rng.getrandbits(128)).hex[:20]}"
        body = {"institution": PHARMACY, "ref": ref, "card": holder.card_no, "pin": PIN,
                "items": [{"code": DRUG, "quantity": 1,
                           "amount": f"{rng.randrange(100, 4000) / 100:.2f}"}]}  # fmt: skip
        answer = self._definite(
            http, "POST", "/api/v1/pos/settlements", json=body,
            headers={**self._api(self.city.pos_token), "Idempotency-Key": ref},
        )  # fmt: skip
        yes = answer.status_code == 201
        paid = round(Decimal(answer.json()["personal_account_paid"]) * 100) if yes else None
        self._outcome(Outcome("settlement", PHARMACY, ref, yes, not yes, paid), answer.text)

    def outpatient(self, http: httpx2.Client, rng: random.Random, _holder: Holder) -> None:
        """Register, upload the fee, settle (2201, 2204, 2207): each step retried by msgid."""
        holder = rng.choice(self._outpatients)
        person, day = str(holder.person_id), dt.date.today().isoformat()
        amount = Decimal(rng.randrange(2000, 20000)) / 100
        _, reg = self.national(http, HOSPITAL, "2201", {"data": {
            "psn_no": person, "insutype": "310", "begntime": f"{day} 09:00:00",
            "mdtrt_cert_type": "03", "mdtrt_cert_no": holder.card_no,
            "ipt_otp_no": f"OP{rng.getrandbits(32)}"}})  # fmt: skip
        if reg["infcode"] != 0:
            return
        mdtrt_id = reg["output"]["data"]["mdtrt_id"]
        _, up = self.national(http, HOSPITAL, "2204", {"feedetail": [{
            "feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": person, "chrg_bchno": "B1",
            "fee_ocur_time": f"{day} 10:00:00", "med_list_codg": EXAM, "medins_list_codg": EXAM,
            "det_item_fee_sumamt": amount, "cnt": 1, "pric": amount}]})  # fmt: skip
        if up["infcode"] != 0:
            return
        msgid, done = self.national(http, HOSPITAL, "2207", {"data": {
            "psn_no": person, "mdtrt_cert_type": "03", "mdtrt_cert_no": holder.card_no,
            "med_type": "11", "medfee_sumamt": amount, "psn_setlway": "01",
            "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "insutype": "310",
            "acct_used_flag": "1", "exp_content": {"card_pin": PIN}}})  # fmt: skip
        self._settled(HOSPITAL, msgid, done)

    def inquiry(self, http: httpx2.Client, _rng: random.Random, holder: Holder) -> None:
        self._definite(
            http, "GET", f"/api/v1/persons/{holder.id_number}/inquiry?channel=web",
            headers=self._api(self.city.admin_token),
        )  # fmt: skip

    def contribution(self, http: httpx2.Client, _rng: random.Random, _holder: Holder) -> None:
        with self.tally.lock:
            holder = next(self._contributors, None)
        if holder is None:
            return
        ref = f"pay-{holder.person_id}-{PAID_IN_LOAD}"
        body = {"person": holder.id_number, "insurances": ["medical"],
                "month": str(PAID_IN_LOAD), "base": "5000.00", "ref": ref}  # fmt: skip
        answer = self._definite(
            http, "POST", "/api/v1/contributions", json=body,
            headers={**self._api(self.city.admin_token), "Idempotency-Key": ref},
        )  # fmt: skip
        yes = answer.status_code == 201
        outcome = Outcome("contribution", "", f"{holder.id_number}/{PAID_IN_LOAD}", yes, not yes)
        self._outcome(outcome, f"{answer.status_code} {answer.text}")

    def _outcome(self, outcome: Outcome, answer: str = "") -> None:
        with self.tally.lock:
            self.tally.outcomes.append(outcome)
            if outcome.refused:
                self._sample(f"refused {outcome.kind} {outcome.ref}: {answer[:300]}")

    def _sample(self, text: str) -> None:
        """Keep the first few of a kind (called under the tally's lock)."""
        kind = text.split(" ", 2)[:2]
        if sum(s.split(" ", 2)[:2] == kind for s in self.tally.samples) < 3:
            self.tally.samples.append(text)

    # -- the client threads -----------------------------------------------------------------------
    def client(self, number: int) -> None:
        rng = random.Random(self.seed * 1000 + number)
        with httpx2.Client(base_url=self.base, timeout=20) as http:
            while not self.stopping.is_set():
                kind = rng.choices(KINDS, WEIGHTS)[0]
                holder = rng.choice(self.city.holders)
                try:
                    getattr(self, kind)(http, rng, holder)
                except NoAnswer:
                    with self.tally.lock:
                        self.tally.by_kind[f"{kind}_unanswered"] += 1
                    continue
                with self.tally.lock:
                    self.tally.by_kind[kind] += 1

    def crediting(self, interrupt: threading.Event, ready: threading.Event) -> dict[str, Any]:
        """Start the month's crediting run (same Idempotency-Key every time), let the fault
        schedule interrupt it, and start it again until it reports completed."""
        run_id = f"{AREA}-{INTERRUPTED}"
        key = {**self._api(self.city.admin_token), "Idempotency-Key": f"credit:{run_id}"}
        body = {"area": AREA, "month": str(INTERRUPTED)}
        starts, interrupted = 0, False
        with httpx2.Client(base_url=self.base, timeout=20) as http:
            while True:
                self._definite(http, "POST", "/api/v1/crediting-runs", json=body, headers=key)
                starts += 1
                if starts == 1:
                    ready.set()  # the run is under way: now the fault
                    interrupt.wait()
                state = self._definite(
                    http, "GET", f"/api/v1/crediting-runs/{run_id}", headers=key
                ).json()
                if state["state"] == "completed":
                    return {"starts": starts, "interrupted": interrupted}
                interrupted = interrupted or starts == 1
                time.sleep(0.5)
