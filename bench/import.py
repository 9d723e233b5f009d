"""Benchmark: `yibao import contributions` of an N-row file, against a plain COPY of it.

    .venv/bin/python bench/import.py --rows 1000000 --db postgresql://postgres@127.0.0.1:5432/test

In its own schema (default `yibao_bench_import`, made afresh): a demo city is generated set-based
(persons, employment, one month of payments) before the clock; a CSV of N contributions for
later months of its employees is written; then the file is imported by the command's own code
(`import_rows` over `read_rows`, one transaction) and timed, and a plain `COPY ... CSV HEADER`
of the same file into a bare table of text columns is timed too. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from schemas import bench_engine
from yibao.adapters.tabular import content_sha256, read_rows
from yibao.demo import generate_city
from yibao.domain.months import Month
from yibao.services import imports
from yibao.services.uow import UnitOfWork

HEADER = ("id_number", "month", "insurances", "base", "received_on")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main() -> None:
    args = _arguments()
    engine = bench_engine(args.db, args.schema, fresh=True)
    persons = max(1000, args.rows // 2)
    log(f"generating {persons} persons (one month of payments)")
    generate_city(engine=engine, persons=persons, start=Month(2024, 1), months=1, seed=1)
    with engine.connect() as connection:
        employees = [
            number
            for (number,) in connection.exec_driver_sql(
                "SELECT p.id_number FROM person p JOIN enrollment e ON e.person_id = p.id "
                "WHERE e.scheme = 'employee' AND e.ends_on IS NULL ORDER BY p.id"
            )
        ]
    file = Path(tempfile.mkdtemp()) / "contributions.csv"
    _write_file(file, employees, args.rows)
    log(f"importing {args.rows} rows")
    began = time.perf_counter()
    with UnitOfWork(engine) as uow:
        outcome = imports.import_rows(
            uow=uow,
            kind="contributions",
            rows=read_rows(file, required=imports.required_columns("contributions")),
            content_sha256=content_sha256(file),
            file_name=file.name,
            refuse=lambda error: log(f"refused row {error.row}: {error.field} {error.reason}"),
        )
    seconds = time.perf_counter() - began
    copy_s = _plain_copy(engine, file)
    engine.dispose()
    print(
        json.dumps(
            {
                "rows": outcome.rows,
                "seconds": round(seconds, 2),
                "rows_per_s": round(outcome.rows / seconds),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                "copy_s": round(copy_s, 2),
                "ratio": round(seconds / copy_s, 1),
            }
        ),
        flush=True,
    )


def _write_file(file: Path, employees: list[str], rows: int) -> None:
    """Month after month from 2024-03 for every employee, until `rows` rows are written.

    Each employee declares a base of their own, as a city's file does (last year's average wage,
    3,000.00 to 30,000.00 yuan), so the import prices almost every row anew.
    """
    fen = random.Random(1)
    base = {number: _yuan(fen.randint(300_000, 3_000_000)) for number in employees}
    with file.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        written, month = 0, Month(2024, 3)
        while written < rows:
            received = f"{month}-20"
            for number in employees[: rows - written]:
                writer.writerow((number, str(month), "pension,medical", base[number], received))
            written += min(len(employees), rows - written)
            month = month.plus(1)


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _plain_copy(engine: object, file: Path) -> float:
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE bench_plain_copy (id_number text, month text, insurances text, "
            "base text, received_on text)"
        )
        driver = connection.connection.driver_connection
        assert driver is not None
        began = time.perf_counter()
        with (
            driver.cursor() as cursor,
            cursor.copy("COPY bench_plain_copy FROM STDIN (FORMAT csv, HEADER true)") as copy,
            file.open("rb") as stream,
        ):
            while chunk := stream.read(1 << 20):
                copy.write(chunk)
        return time.perf_counter() - began


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default="yibao_bench_import")
    return parser.parse_args()


if __name__ == "__main__":
    main()
