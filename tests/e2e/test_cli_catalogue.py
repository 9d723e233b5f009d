"""`yibao catalogue load`: a good file loads all its rows; a bad row is one line naming the
row, the field and the value, exit 2, and nothing of the file is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import count, yibao

GOOD = "code,name,class,selfpay_prop\nDRUG-A,Aspirin,A,0\nDRUG-B,Statin,B,0.10\n"


def test_a_catalogue_file_loads_all_its_rows(city: Path, tmp_path: Path) -> None:
    file = tmp_path / "catalogue.csv"
    file.write_text(GOOD + "DRUG-C,Tonic,C,0\n", encoding="utf-8")
    done = yibao(city, "catalogue", "load", str(file), "--area", "420100", "--from", "2024-03")
    assert done.returncode == 0, done.stderr
    assert "3 items loaded" in done.stdout
    assert count(city, "catalogue_item") == 3


@pytest.mark.parametrize(
    ("bad_row", "field", "value"),
    [
        ("DRUG-C,Tonic,D,0", "class", "D"),
        ("DRUG-C,Tonic,B,1.5", "selfpay_prop", "1.5"),
        ("DRUG-C,Tonic,A,0.2", "selfpay_prop", "0.2"),
        (",Tonic,A,0", "code", ""),
        ("DRUG-A,Aspirin again,A,0", "code", "DRUG-A"),
    ],
)
def test_a_bad_catalogue_row_is_named_and_nothing_is_written(
    city: Path, tmp_path: Path, bad_row: str, field: str, value: str
) -> None:
    file = tmp_path / "catalogue.csv"
    file.write_text(GOOD + bad_row + "\n", encoding="utf-8")
    done = yibao(city, "catalogue", "load", str(file), "--area", "420100", "--from", "2024-03")
    assert done.returncode == 2, done.stdout
    said = (done.stdout + done.stderr).strip()
    assert len(said.splitlines()) == 1, said
    assert "Traceback" not in said
    assert f"row 4 {field}" in said
    assert f"'{value}'" in said
    assert count(city, "catalogue_item") == 0
