"""`yibao statements --year Y`: a clerk makes the year's statements of an area as PDFs."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.cli import PERSON, yibao


def test_a_clerk_writes_the_years_statements_of_an_area_into_a_folder(
    city: Path, tmp_path: Path
) -> None:
    paid = yibao(
        city,
        "contribution",
        "pay",
        "--person",
        PERSON,
        "--month",
        "2024-04",
        "--base",
        "6000",
        "--insurances",
        "pension,medical",
        "--received",
        "2024-04-15",
    )
    assert paid.returncode == 0, paid.stderr
    assert yibao(city, "credit", "run", "--month", "2024-04").returncode == 0
    out = tmp_path / "statements"
    done = yibao(city, "statements", "--year", "2024", "--area", "420100", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "1 statements for 2024" in done.stdout
    files = list((out / "420100").iterdir())
    assert [f.suffix for f in files] == [".pdf"]
    assert PERSON not in files[0].name
    assert files[0].read_bytes().startswith(b"%PDF")


def test_a_year_out_of_range_is_refused_with_exit_2(city: Path, tmp_path: Path) -> None:
    done = yibao(city, "statements", "--year", "20240", "--out", str(tmp_path / "s"))
    assert done.returncode == 2
    assert "year" in done.stderr
    assert not (tmp_path / "s").exists()
