"""Pharmacy settlements (2102) through the national institution interface, against
`yibao serve` on PostgreSQL, beside pgbench.

    .venv/bin/python bench/national.py --db postgresql://postgres@127.0.0.1:5432/test \\
        --workers 2 --clients 32 --seconds 15

Populates its own schema once (bench/settle.py's cardholders, one PIN, credited accounts, one
pharmacy), loads a one-line catalogue (the drug sold is class A), issues the pharmacy's gateway
credentials and starts `yibao serve --workers N`. The operator signs in (9001) through the
server; then every request is made before the clock starts: its own msgid and nonce, signed
as the gateway wants (x-tif-signature), a card and its PIN, one line of 1.00 yuan. wrk replays
them from a Lua script, each connection its own share, and counts as an error any answer that
is not HTTP 200 with infcode 0. Then pgbench tpcb-like on the same server, as the machine's
bound. Prints one JSON line on stdout (with the server's CPU per settlement, from /proc);
progress goes to stderr.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import text

from api import (
    bench_city,
    cpu_seconds,
    free_port,
    schema_url,
    served_bench_arguments,
    start_server,
    stop,
)
from settle import AREA, INSTITUTION, PIN, audit, log, pgbench_tps
from yibao.bootstrap import App
from yibao.domain.national import gateway_signature, to_json
from yibao.services import catalogue
from yibao.services.national import gateway

PATH = "/fsi/api/rsfComIfsService/callService"
DRUG = "BENCH-DRUG-1"

REPLAY_LUA = """
local path, paasid, stamp = "%(path)s", "%(paasid)s", "%(stamp)s"
local all, threads, counter = {}, {}, 0
for line in io.lines("%(requests)s") do all[#all + 1] = line end
function setup(thread)
  counter = counter + 1
  thread:set("first", counter)
  table.insert(threads, thread)
end
local mine, at, step, failed, exhausted = nil, 0, %(threads)d, 0, 0
function init(args)
  at = wrk.thread:get("first")
  mine = all
  wrk.thread:set("failed", 0)
  wrk.thread:set("exhausted", 0)
end
request = function()
  local line = mine[at]
  if line == nil then exhausted = exhausted + 1; wrk.thread:set("exhausted", exhausted)
    line = mine[1] end
  at = at + step
  local nonce, signature, body = line:match("^([^\\t]*)\\t([^\\t]*)\\t(.*)$")
  return wrk.format("POST", path, {["Content-Type"] = "application/json",
    ["x-tif-paasid"] = paasid, ["x-tif-timestamp"] = stamp, ["x-tif-nonce"] = nonce,
    ["x-tif-signature"] = signature}, body)
end
response = function(status, headers, body)
  if status ~= 200 or not string.find(body, '"infcode":0,', 1, true) then
    failed = failed + 1
    wrk.thread:set("failed", failed)
  end
end
done = function(summary, latency, requests)
  local bad, short = 0, 0
  for _, t in ipairs(threads) do bad = bad + t:get("failed"); short = short + t:get("exhausted") end
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "seconds": %%.3f, "p50_ms": %%.2f, ' ..
    '"p99_ms": %%.2f, "errors": %%d, "refused": %%d, "exhausted": %%d}\\n', summary.requests,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout + e.status, bad, short))
end
"""


def prepare(app: App) -> tuple[str, str]:
    """The drug in the area's catalogue (class A) and the pharmacy's gateway credentials."""
    with app.uow() as uow:
        catalogue.load(
            uow=uow,
            area_code=AREA,
            from_month="2024-01",
            entries=catalogue.parse_csv(f"code,name,class,selfpay_prop\n{DRUG},Bench drug,A,0\n"),
        )
        found = gateway.credentials(uow=uow, institution_code=INSTITUTION, rotate=False)
    return found.paasid, found.token


def envelope(infno: str, msgid: str, sign_no: str, given: dict[str, Any]) -> dict[str, Any]:
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    return {
        "infno": infno, "msgid": msgid, "mdtrtarea_admvs": AREA, "insuplc_admdvs": AREA,
        "recer_sys_code": "BENCH", "dev_no": "", "dev_safe_info": "", "cainfo": "",
        "signtype": "SM2", "infver": "V1.0", "opter_type": "1", "opter": "001",
        "opter_name": "Bench", "inf_time": now, "fixmedins_code": INSTITUTION,
        "fixmedins_name": "Bench Pharmacy", "sign_no": sign_no, "input": given,
    }  # fmt: skip


def msgids(count: int) -> list[str]:
    """Unique msgids of the protocol's form: institution code, a time, a 4-digit sequence."""
    start = dt.datetime.now()
    return [
        f"{INSTITUTION:0<12}"
        + (start + dt.timedelta(seconds=i // 10_000)).strftime("%Y%m%d%H%M%S")
        + f"{i % 10_000:04d}"
        for i in range(count)
    ]


def sign_in(port: int, paasid: str, token: str) -> str:
    stamp, nonce = str(int(time.time())), uuid.uuid4().hex
    earlier = (dt.datetime.now() - dt.timedelta(hours=1)).strftime("%Y%m%d%H%M%S")
    msgid = f"{INSTITUTION:0<12}{earlier}{os.getpid() % 10_000:04d}"
    body = envelope("9001", msgid, "", {"signIn": {"opter_no": "001"}})
    answer = httpx2.post(
        f"http://127.0.0.1:{port}{PATH}",
        content=to_json(body),
        headers={
            "Content-Type": "application/json",
            "x-tif-paasid": paasid,
            "x-tif-timestamp": stamp,
            "x-tif-nonce": nonce,
            "x-tif-signature": gateway_signature(stamp, token, nonce),
        },
        timeout=30,
    ).json()
    if answer["infcode"] != 0:
        raise RuntimeError(f"sign-in refused: {answer['err_msg']}")
    return str(answer["output"]["signinoutb"]["sign_no"])


def write_requests(
    path: Path, count: int, holders: list[tuple[int, str]], sign_no: str, token: str, stamp: str
) -> None:
    """One line per request: nonce, signature, body (tab separated)."""
    day = dt.date.today().isoformat()
    with path.open("w") as out:
        for i, msgid in enumerate(msgids(count)):
            person, card = holders[(i * 7) % len(holders)]
            given = {
                "druginfo": {
                    "psn_no": str(person), "mdtrt_cert_type": "03", "mdtrt_cert_no": card,
                    "begntime": f"{day} 10:00:00", "medfee_sumamt": Decimal("1.00"),
                    "insutype": "310", "acct_used_flag": "1", "med_type": "41", "invono": "",
                    "dise_codg": "", "dise_name": "", "exp_content": {"card_pin": PIN},
                },
                "drugdetail": [{
                    "feedetl_sn": "1", "rxno": "", "rx_circ_flag": "0",
                    "fee_ocur_time": f"{day} 10:00:00", "med_list_codg": DRUG,
                    "medins_list_codg": DRUG, "det_item_fee_sumamt": Decimal("1.00"), "cnt": 1,
                    "pric": Decimal("1.00"), "bilg_dr_codg": "D1", "bilg_dr_name": "Dr",
                }],
            }  # fmt: skip
            nonce = uuid.uuid4().hex
            body = to_json(envelope("2102", msgid, sign_no, given))
            out.write(f"{nonce}\t{gateway_signature(stamp, token, nonce)}\t{body}\n")


def replay(
    port: int, lua_text: str, clients: int, seconds: int, threads: int = 2
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(lua_text)
    try:
        result = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds}s", "--latency",
             "-s", lua.name, f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        os.unlink(lua.name)
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    found: dict[str, float] = json.loads(line.removeprefix("RESULT "))
    found["per_second"] = found["requests"] / found["seconds"]
    return found


def settled_in_run(app: App, first_msgid: str) -> int:
    with app.engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM settlement WHERE ref >= :first AND ref LIKE :mine"),
                {"first": first_msgid, "mine": f"{INSTITUTION}%"},
            ).scalar_one()
        )


def main() -> None:
    parser = served_bench_arguments(__doc__, "yibao_bench_national")
    parser.add_argument("--requests", type=int, default=30_000, help="made before the clock")
    args = parser.parse_args()
    seconds = min(args.seconds, 20)
    engine, app, holders = bench_city(args)
    paasid, token = prepare(app)
    port = free_port()
    log(f"yibao serve --workers {args.workers} on port {port} ...")
    server = start_server(schema_url(args.db, args.schema), port, args.workers)
    try:
        sign_no = sign_in(port, paasid, token)
        stamp = str(int(time.time()))
        with tempfile.TemporaryDirectory() as folder:
            requests = Path(folder) / "requests.tsv"
            first_msgid = msgids(1)[0]
            write_requests(requests, args.requests, holders, sign_no, token, stamp)
            log(f"{args.requests} signed 2102 requests made; settlements, {seconds} s ...")
            cpu_before = cpu_seconds(server.pid)
            found = replay(
                port,
                REPLAY_LUA
                % {
                    "path": PATH,
                    "paasid": paasid,
                    "stamp": stamp,
                    "requests": requests,
                    "threads": 2,
                },
                args.clients,
                seconds,
            )
            server_cpu = cpu_seconds(server.pid) - cpu_before
        log(f"  {found}")
    finally:
        stop(server)
    settled = settled_in_run(app, first_msgid)
    overdrafts, ledger_ok = audit(app)
    engine.dispose()
    log("pgbench ...")
    tps = pgbench_tps(args.db, args.pgbench_db, args.clients, seconds)
    requests_done = int(found["requests"])
    print(
        json.dumps(
            {
                "workers": args.workers,
                "clients": args.clients,
                "seconds": seconds,
                "settlements_per_s": round(found["per_second"], 1),
                "p50_ms": found["p50_ms"],
                "p99_ms": found["p99_ms"],
                "errors": int(found["errors"] + found["refused"]),
                "requests_exhausted": int(found["exhausted"]),
                "settlements_in_ledger": settled,
                "server_cpu_ms_per_settlement": round(1000 * server_cpu / max(requests_done, 1), 2),
                "overdrafts": overdrafts,
                "ledger_check_passed": ledger_ok,
                "pgbench_tps": round(tps, 1),
                "ratio": round(found["per_second"] / tps, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
