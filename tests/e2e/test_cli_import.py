"""`yibao import` as a clerk runs it: CSV with Excel's BOM, .xlsx, and the error report."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook

from tests.e2e.cli import PERSON, count, make_city, yibao

HEADER = ["id_number", "month", "insurances", "base", "received_on"]
GOOD = [PERSON, "2024-02", "pension,medical", "8000.00", "2024-02-20"]


def write_csv(path: Path, *lines: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig") as stream:  # as Excel saves it
        csv.writer(stream).writerows([HEADER, *lines])
    return path


def test_a_csv_file_is_imported_once_and_again_is_a_no_op(tmp_path: Path) -> None:
    db = make_city(tmp_path)
    file = write_csv(tmp_path / "feb.csv", GOOD)
    done = yibao(db, "import", "contributions", str(file))
    assert done.returncode == 0, done.stderr
    assert "1 contributions rows imported" in done.stdout
    again = yibao(db, "import", "contributions", str(file))
    assert again.returncode == 0
    assert "imported before" in again.stdout
    assert count(db, "contribution") == 1


def test_bad_rows_go_to_the_error_report_and_nothing_is_written(tmp_path: Path) -> None:
    db = make_city(tmp_path)
    file = write_csv(tmp_path / "feb.csv", GOOD, [PERSON, "2024-03", "medical", "12.345", ""])
    done = yibao(db, "import", "contributions", str(file))
    assert done.returncode == 1
    assert "1 row error" in done.stderr
    assert "Traceback" not in done.stderr
    text = (tmp_path / "feb.csv.errors.csv").read_text(encoding="utf-8-sig")
    report = list(csv.reader(text.splitlines()))
    assert report[0] == ["row", "field", "value", "reason"]
    assert report[1][:3] == ["3", "base", "12.345"]
    assert count(db, "contribution") == 0


def test_an_xlsx_file_is_read(tmp_path: Path) -> None:
    db = make_city(tmp_path)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append([PERSON, "2024-02", "medical", 8000, "2024-02-20"])
    book.save(tmp_path / "feb.xlsx")
    done = yibao(db, "import", "contributions", str(tmp_path / "feb.xlsx"))
    assert done.returncode == 0, done.stderr
    assert count(db, "contribution") == 1
