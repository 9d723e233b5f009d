"""Faults under load, the long run: yibao serve --workers 2 on a fresh PostgreSQL schema,
a mixed load of retrying clients, at least a hundred SIGKILLed workers, PostgreSQL restarted
under it, the server stopped and started; then the checker.

    .venv/bin/python bench/faults.py --db postgresql://postgres@127.0.0.1:5432/test \\
        --seed 1 --kills 100 --seconds 240

Needs root (pg_ctlcluster restarts the cluster of this machine). The harness and the checker
are tests/faults, shared with the short run in the test suite. Prints one JSON line on stdout:
requests, acknowledged, retried, faults by kind, violations (0 when sound), seconds; progress
and the server's log path go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.faults.harness import Plan, log, run


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=240, help="of load, at least")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--postgres-restarts", type=int, default=1)
    parser.add_argument("--serve-restarts", type=int, default=2)
    args = parser.parse_args()
    plan = Plan(
        seed=args.seed, kills=args.kills, seconds=args.seconds, clients=args.clients,
        persons=args.persons, postgres_restarts=args.postgres_restarts,
        serve_restarts=args.serve_restarts,
    )  # fmt: skip
    with tempfile.NamedTemporaryFile(prefix="yibao-faults-", suffix=".log", delete=False) as out:
        log(f"the server's log: {out.name}")
        found = run(args.db, plan, out)
    found["samples"] = found["samples"][:3]
    print(json.dumps(found))
    sys.exit(1 if found["violations"] else 0)


if __name__ == "__main__":
    main()
