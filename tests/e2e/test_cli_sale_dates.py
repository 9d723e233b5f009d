"""A cashier or a clerk acting on an impossible day is refused in one line; nothing is written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.e2e.cli import PERSON, count, yibao, yibao_with_input

CARD = "A10000001"
PIN = "246810"


@pytest.fixture
def credited(city: Path) -> Path:
    """April credited (posted 2024-04-30), the card activated on 2024-05-03."""
    steps = [
        ("institution", "add", "P001", "Example Pharmacy", "pharmacy", "--area", "420100"),
        ("contribution", "pay", "--person", PERSON, "--month", "2024-04", "--base", "6000",
         "--insurances", "pension,medical", "--received", "2024-04-15"),
        ("credit", "run", "--month", "2024-04"),
        ("card", "issue", PERSON, CARD, "--on", "2024-05-02"),
    ]  # fmt: skip
    for step in steps:
        done = yibao(city, *step)
        assert done.returncode == 0, done.stderr
    activated = yibao_with_input(city, f"{PIN}\n", "card", "activate", PERSON, "--on", "2024-05-03")
    assert activated.returncode == 0, activated.stderr
    return city


def _settle(db: Path, ref: str, day: str) -> tuple[int, str]:
    done = yibao_with_input(db, f"{PIN}\n", "pos", "settle", "--institution", "P001", "--ref", ref,
                            "--card", CARD, "--item", "A01:1:10.00", "--day", day)  # fmt: skip
    return done.returncode, done.stderr


def test_a_sale_before_the_card_was_activated_is_refused(credited: Path) -> None:
    code, error = _settle(credited, "R1", "2024-05-02")

    assert code == 1
    assert "card_not_activated" in error
    assert count(credited, "settlement") == 0


def test_a_sale_dated_tomorrow_is_bad_input(credited: Path) -> None:
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()

    code, error = _settle(credited, "R1", tomorrow)

    assert code == 2
    assert "value_date_in_future" in error
    assert tomorrow in error
    assert count(credited, "settlement") == 0


def test_a_refund_dated_before_its_sale_is_bad_input(credited: Path) -> None:
    assert _settle(credited, "R1", "2024-05-06")[0] == 0
    transfers = count(credited, "ledger_transfer")

    done = yibao(credited, "pos", "refund", "--ref", "R1", "--day", "2024-05-05")

    assert done.returncode == 2
    assert "refund_before_sale" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert count(credited, "ledger_transfer") == transfers


def test_crediting_a_month_that_has_not_ended_is_bad_input(credited: Path) -> None:
    this_month = dt.date.today().strftime("%Y-%m")
    runs = count(credited, "crediting_run")

    done = yibao(credited, "credit", "run", "--month", this_month)

    assert done.returncode == 2
    assert "month_not_ended" in done.stderr
    assert count(credited, "crediting_run") == runs
