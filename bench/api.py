"""POS settlements and inquiries through HTTP, against `yibao serve` on PostgreSQL, beside pgbench.

    .venv/bin/python bench/api.py --db postgresql://postgres@127.0.0.1:5432/test \\
        --workers 2 --clients 32 --seconds 15

Populates its own schema once (cardholders with one PIN and credited accounts, one pharmacy:
bench/settle.py's population), adds an institution login and an admin login, and starts
`yibao serve --workers N` on a free port. The load comes from wrk with a Lua script (cheap
enough not to be the bottleneck): first POS settlements with card and PIN (each with its own
reference and Idempotency-Key), then inquiries by ID number. Then pgbench tpcb-like on the same
server, as the machine's bound. Prints one JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx2
from sqlalchemy import Engine, text

from settle import PIN, audit, cardholders, log, open_schema, pgbench_tps, populate
from yibao.bootstrap import App
from yibao.services import accounts
from yibao.services.accounts import UnknownUser
from yibao.services.accounts.tokens import issue_token

PASSWORD = "bench password, development only"
TOKEN_KEY = "bench-token-key-" + "x" * 32

SETTLE_LUA = """
local cards = {%(cards)s}
local run, counter, id = "%(run)s", 0, 0
function setup(thread) thread:set("id", math.random(1, 1000000)) end
function init(args) id = wrk.thread:get("id") end
request = function()
  counter = counter + 1
  local ref = run .. "-" .. id .. "-" .. counter
  local card = cards[(counter * 7 + id) %% #cards + 1]
  local body = '{"institution":"P001","ref":"' .. ref .. '","card":"' .. card ..
    '","pin":"%(pin)s","day":"%(day)s","items":[{"code":"DRUG-1","quantity":1,"amount":"1.00"}]}'
  local headers = {["Authorization"] = "Bearer %(token)s", ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = ref}
  return wrk.format("POST", "/api/v1/pos/settlements", headers, body)
end
"""
INQUIRE_LUA = """
local persons = {%(persons)s}
local counter, id = 0, 0
function setup(thread) thread:set("id", math.random(1, 1000000)) end
function init(args) id = wrk.thread:get("id") end
request = function()
  counter = counter + 1
  local person = persons[(counter * 13 + id) %% #persons + 1]
  return wrk.format("GET", "/api/v1/persons/" .. person .. "/inquiry?channel=web", {
    ["Authorization"] = "Bearer %(token)s"})
end
"""
DONE_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, ' ..
    '"p99_ms": %.2f, "errors": %d}\\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout + e.status))
end
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def schema_url(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


def tokens(app: App) -> dict[str, str]:
    """An institution's and an admin's token, made directly (the login is not what is timed)."""
    found = {}
    with app.uow() as uow:
        for name, role, scope in (
            ("bench-pos", "institution", "P001"),
            ("bench-admin", "admin", None),
        ):
            try:
                user = accounts.user_by_name(uow=uow, name=name)
            except UnknownUser:
                user = accounts.add_user(
                    uow=uow, name=name, role=role, password=PASSWORD, scope=scope
                )
            found[role] = issue_token(
                uow=uow, user=user, secret=TOKEN_KEY, seconds=3600
            ).access_token
    return found


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[str]:
    yibao = Path(sys.executable).with_name("yibao")
    command = [str(yibao), "serve", "--db", url, "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning"]
    environment = {"YIBAO_ENV": "development", "YIBAO_TOKEN_SECRET": TOKEN_KEY}
    return serving(command, environment, f"http://127.0.0.1:{port}/api/v1/health")


def serving(command: list[str], environment: dict[str, str], ready: str) -> subprocess.Popen[str]:
    """`command` started, once `ready` answers 200 (within a minute, else its stderr raised)."""
    server = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **environment},
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx2.get(ready, timeout=2).status_code == 200:
                return server
        except httpx2.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            error = server.stderr.read() if server.stderr else ""
            raise RuntimeError(f"{command[0]} did not start: {error}")
        time.sleep(0.3)


def stop(server: subprocess.Popen[str]) -> None:
    """A graceful stop (SIGTERM: running requests end), or a kill after a minute."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()


def cpu_seconds(root: int) -> float:
    """User and system CPU of a process and its children (the server's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in [root, *_children(root)]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        direct = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in map(int, direct):
        found += [child, *_children(child)]
    return found


def wrk(port: int, script: str, clients: int, seconds: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script + DONE_LUA)
    try:
        result = subprocess.run(
            [
                "wrk",
                "-t",
                "2",
                "-c",
                str(clients),
                "-d",
                f"{seconds}s",
                "--latency",
                "-s",
                lua.name,
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(lua.name)
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    found: dict[str, float] = json.loads(line.removeprefix("RESULT "))
    found["per_second"] = found["requests"] / found["seconds"]
    return found


def wrk_measured(
    port: int, script: str, clients: int, seconds: int, server: subprocess.Popen[str]
) -> dict[str, float]:
    """A wrk phase with the server's CPU (all its workers) spent during it, as `cpu`."""
    before = cpu_seconds(server.pid)
    found = wrk(port, script, clients, seconds)
    found["cpu"] = cpu_seconds(server.pid) - before
    log(f"  {found}")
    return found


def settle_script(holders: list[tuple[int, str]], token: str) -> str:
    """SETTLE_LUA for these cardholders' cards, a run of its own today."""
    return SETTLE_LUA % {
        "cards": ",".join(f'"{card}"' for _, card in holders),
        "run": uuid.uuid4().hex[:8],
        "pin": PIN,
        "day": time.strftime("%Y-%m-%d"),
        "token": token,
    }


def inquire_script(persons: list[str], token: str) -> str:
    return INQUIRE_LUA % {"persons": ",".join(f'"{p}"' for p in persons), "token": token}


def id_numbers(engine: Engine, count: int) -> list[str]:
    """The first `count` persons' ID numbers, as the inquiries ask for them."""
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT id_number FROM person ORDER BY id LIMIT :n"), {"n": count}
        )
        return [str(row[0]) for row in found]


def per_request_ms(found: dict[str, float]) -> float:
    """The server's CPU (all its workers) per request of a wrk phase, in milliseconds."""
    return round(1000 * found["cpu"] / max(found["requests"], 1), 2)


def served_bench_arguments(
    doc: str | None, schema: str, *, seconds_help: str = ""
) -> argparse.ArgumentParser:
    """The options every benchmark of a served yibao takes (bench/api.py, bench/national.py)."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed as the load generator: apt-get install -y wrk")
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--seconds", type=int, default=15, help=" ".join((seconds_help, "(at most 20)")).strip()
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--schema", default=schema)
    parser.add_argument("--pgbench-db", default="pgbench_yibao")
    return parser


def bench_city(args: argparse.Namespace) -> tuple[Engine, App, list[tuple[int, str]]]:
    """The bench's schema with `--accounts` cardholders (populated once, reused afterwards)."""
    engine = open_schema(args.db, args.schema, 8)
    app = App(engine)
    holders = cardholders(engine, args.accounts)
    if len(holders) < args.accounts:
        log(f"populating {args.accounts} cardholders in schema {args.schema} ...")
        populate(app, args.accounts)
        holders = cardholders(engine, args.accounts)
    return engine, app, holders


def main() -> None:
    parser = served_bench_arguments(__doc__, "yibao_bench_api", seconds_help="per phase")
    args = parser.parse_args()
    seconds = min(args.seconds, 20)
    engine, app, holders = bench_city(args)
    persons = id_numbers(engine, args.accounts)
    found_tokens = tokens(app)
    port = free_port()
    log(f"yibao serve --workers {args.workers} on port {port} ...")
    server = start_server(schema_url(args.db, args.schema), port, args.workers)
    try:
        log(f"{len(holders)} cardholders; settlements, {seconds} s ...")
        script = settle_script(holders, found_tokens["institution"])
        settle = wrk_measured(port, script, args.clients, seconds, server)
        log(f"inquiries, {seconds} s ...")
        script = inquire_script(persons, found_tokens["admin"])
        inquire = wrk_measured(port, script, args.clients, seconds, server)
    finally:
        stop(server)
    overdrafts, ledger_ok = audit(app)
    engine.dispose()
    log("pgbench ...")
    tps = pgbench_tps(args.db, args.pgbench_db, args.clients, seconds)
    print(
        json.dumps(
            {
                "workers": args.workers,
                "clients": args.clients,
                "seconds": seconds,
                "settlements_per_s": round(settle["per_second"], 1),
                "settlement_p50_ms": settle["p50_ms"],
                "settlement_p99_ms": settle["p99_ms"],
                "inquiries_per_s": round(inquire["per_second"], 1),
                "inquiry_p50_ms": inquire["p50_ms"],
                "inquiry_p99_ms": inquire["p99_ms"],
                "errors": int(settle["errors"] + inquire["errors"]),
                "server_cpu_ms_per_settlement": per_request_ms(settle),
                "server_cpu_ms_per_inquiry": per_request_ms(inquire),
                "overdrafts": overdrafts,
                "ledger_check_passed": ledger_ok,
                "pgbench_tps": round(tps, 1),
                "ratio": round(settle["per_second"] / tps, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
