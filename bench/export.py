"""Benchmark: `yibao export payments` of a demo city's area, against a plain COPY TO of it.

    .venv/bin/python bench/export.py --persons 200000 --months 3

In its own schema (default `yibao_bench_export`, made afresh): a demo city is generated
set-based before the clock; then the command itself (`yibao export payments`, a child process,
so its peak RSS is its own) writes the area's payment records as CSV and as .xlsx, and a plain
`COPY (SELECT * FROM contribution) TO STDOUT` of the same rows is timed beside it. Prints one
JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from schemas import bench_engine
from yibao.demo import generate_city
from yibao.domain.months import Month


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main() -> None:
    args = _arguments()
    engine = bench_engine(args.db, args.schema, fresh=True)
    log(f"generating {args.persons} persons, {args.months} months of payments")
    summary = generate_city(
        engine=engine, persons=args.persons, start=Month(2024, 1), months=args.months, seed=1
    )
    area = summary.area_code
    with engine.connect() as connection:
        rows = int(connection.exec_driver_sql("SELECT count(*) FROM contribution").scalar_one())
    copy_s = _plain_copy(engine)
    engine.dispose()
    url = f"{args.db}?options={quote(f'-csearch_path={args.schema}')}"
    folder = Path(tempfile.mkdtemp())
    found: dict[str, object] = {"rows": rows, "copy_to_s": round(copy_s, 2)}
    for fmt in ("csv", "xlsx"):
        out = folder / f"payments.{fmt}"
        log(f"exporting {rows} payments as {fmt}")
        began = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "yibao.entrypoints.cli.main", "export", "payments",
             "--area", area, "--out", str(out), "--db", url],
            capture_output=True, text=True, check=False,
            env={**os.environ, "YIBAO_ENV": "development"},
        )  # fmt: skip
        seconds = time.perf_counter() - began
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        found[f"{fmt}_s"] = round(seconds, 2)
        found[f"{fmt}_rows_per_s"] = round(rows / seconds)
        found[f"{fmt}_mb"] = round(out.stat().st_size / 1e6, 1)
    found["child_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    found["csv_ratio_to_copy"] = round(float(str(found["csv_s"])) / copy_s, 1)
    print(json.dumps(found), flush=True)


def _plain_copy(engine: object) -> float:
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    with engine.connect() as connection:
        driver = connection.connection.driver_connection
        assert driver is not None
        began = time.perf_counter()
        with (
            driver.cursor() as cursor,
            cursor.copy(
                "COPY (SELECT * FROM contribution ORDER BY id) TO STDOUT (FORMAT csv)"
            ) as copy,
            open(os.devnull, "wb") as sink,
        ):
            for chunk in copy:
                sink.write(chunk)
        return time.perf_counter() - began


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default="yibao_bench_export")
    return parser.parse_args()


if __name__ == "__main__":
    main()
