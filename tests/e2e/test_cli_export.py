"""`yibao export` as a clerk runs it: a file written whole, bad input refused by name."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import load_workbook

from tests.e2e.cli import PERSON, make_city, yibao


def test_payments_export_as_csv_and_xlsx_and_bad_input_is_named(tmp_path: Path) -> None:
    db = make_city(tmp_path)
    paid = yibao(
        db,
        "contribution",
        "pay",
        "--person",
        PERSON,
        "--month",
        "2024-02",
        "--base",
        "8000",
        "--insurances",
        "medical",
        "--received",
        "2024-02-20",
    )
    assert paid.returncode == 0, paid.stderr
    out = tmp_path / "payments.csv"
    done = yibao(db, "export", "payments", "--area", "420100", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "1 payments rows" in done.stdout
    with out.open(encoding="utf-8-sig", newline="") as stream:
        [row] = list(csv.DictReader(stream))
    assert (row["id_number"], row["month"], row["base"]) == (PERSON, "2024-02", "8000.00")
    sheet = tmp_path / "statements.xlsx"
    done = yibao(
        db, "export", "statements", "--area", "420100", "--year", "2024", "--out", str(sheet)
    )
    assert done.returncode == 0, done.stderr
    book = load_workbook(sheet, read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    assert rows[0][0] == "id_number"
    assert rows[1][0] == PERSON
    bad = yibao(db, "export", "ledgers", "--area", "420100", "--out", str(tmp_path / "x.csv"))
    assert bad.returncode != 0
    assert "ledgers" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert not (tmp_path / "x.csv").exists()
    unknown = yibao(db, "export", "payments", "--area", "999999", "--out", str(tmp_path / "y.csv"))
    assert unknown.returncode != 0
    assert "999999" in unknown.stderr
    assert not (tmp_path / "y.csv").exists()
