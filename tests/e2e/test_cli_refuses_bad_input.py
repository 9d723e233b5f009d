"""Input that used to crash with a traceback: one line naming the field and value, exit 2, no write.

Issue 10, section 5: odd digits, numbers beyond BIGINT, malformed YAML files, bad database URLs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e.cli import PERSON, count, make_city, yibao

TABLES = (
    "area",
    "employer",
    "institution",
    "person",
    "card",
    "contribution",
    "settlement",
    "ledger_transfer",
)


@pytest.fixture(scope="module")
def built_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The city with a pharmacy and an activated card, bank account included (built once)."""
    city = make_city(tmp_path_factory.mktemp("shop"))
    steps = [
        ("institution", "add", "P001", "Example Pharmacy", "pharmacy", "--area", "420100"),
        ("card", "issue", PERSON, "A10000001", "--on", "2024-05-02"),
        ("card", "activate", PERSON, "--pin", "246810", "--on", "2024-05-03"),
        ("card", "activate-financial", PERSON, "--on", "2024-05-03"),
        ("card", "deposit", PERSON, "--amount", "100", "--ref", "D0", "--on", "2024-05-03"),
    ]
    for step in steps:
        done = yibao(city, *step)
        assert done.returncode == 0, done.stderr
    return city


@pytest.fixture
def shop(built_shop: Path, tmp_path: Path) -> Path:
    """A copy of the shop for one test: the CLI runs are what take the time."""
    copy = tmp_path / built_shop.name
    shutil.copy(built_shop, copy)
    return copy


def rows(db: Path) -> dict[str, int]:
    return {table: count(db, table) for table in TABLES}


def refused(db: Path, *args: str) -> str:
    """Run `yibao args`; assert the one-line refusal, exit 2, nothing written; return stderr."""
    before = rows(db)
    done = yibao(db, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert rows(db) == before
    return done.stderr


def settle(*items: str) -> tuple[str, ...]:
    args = ["pos", "settle", "--institution", "P001", "--ref", "R1", "--day", "2024-05-06"]
    for item in items:
        args += ["--item", item]
    return (*args, "--card", "A10000001", "--pin", "246810")


@pytest.mark.parametrize("amount", ["1e3", "1_000", "１０", "٣", "1.5e2", "NaN", "-"])
def test_an_amount_in_anything_but_ascii_digits_is_refused(shop: Path, amount: str) -> None:
    said = refused(shop, "card", "deposit", PERSON, "--amount", amount, "--on", "2024-05-04")
    assert "amount" in said
    assert repr(amount) in said


@pytest.mark.parametrize("pin", ["２４６８１０", "٢٤٦٨١٠", "24681０"])
def test_a_pin_in_anything_but_ascii_digits_is_refused(city: Path, pin: str) -> None:
    assert yibao(city, "card", "issue", PERSON, "A10000001", "--on", "2024-05-02").returncode == 0
    said = refused(city, "card", "activate", PERSON, "--pin", pin, "--on", "2024-05-03")
    assert "PIN" in said or "pin" in said


@pytest.mark.parametrize(
    ("items", "says"),
    [
        (("A01:²:10",), "'²'"),
        (("A01:１:10",), "'１'"),
        (("A01:2147483648:10",), "2147483648"),
        (("A01:" + "9" * 5000 + ":10",), "item quantity"),
        (("A01:1:92233720368547758.08",), "'92233720368547758.08'"),
        (("A01:1:92233720368547758.07", "A02:1:0.01"), "'92233720368547758.08'"),
        (("A01:1:1e3",), "'1e3'"),
    ],
)
def test_a_quantity_or_total_beyond_its_column_is_refused(
    shop: Path, items: tuple[str, ...], says: str
) -> None:
    said = refused(shop, *settle(*items))
    assert says in said


@pytest.mark.parametrize("month", ["２０２４-０４", "2024-٠٤"])
def test_a_month_in_anything_but_ascii_digits_is_refused(city: Path, month: str) -> None:
    said = refused(
        city,
        "contribution",
        "pay",
        "--person",
        PERSON,
        "--month",
        month,
        "--base",
        "6000",
        "--insurances",
        "medical",
        "--received",
        "2024-04-15",
    )
    assert repr(month) in said
