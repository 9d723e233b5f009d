"""Dates on the CLI that cannot lie: credited months, card states, and empty date options."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import PERSON, count, yibao, yibao_with_input
from tests.scenario_files import EXAMPLES

AREA_FILE = EXAMPLES / "01_medical_left_out.yaml"
PAY = (
    "contribution",
    "pay",
    "--person",
    PERSON,
    "--month",
    "2024-04",
    "--base",
    "6000",
    "--insurances",
    "medical",
)


def test_a_policy_from_a_credited_month_is_refused_and_the_same_file_still_loads(
    city: Path, tmp_path: Path
) -> None:
    assert yibao(city, "credit", "run", "--month", "2024-03").returncode == 0
    text = AREA_FILE.read_text(encoding="utf-8")
    changed = tmp_path / "area.yaml"
    changed.write_text(text.replace('- from: "2023-01"', '- from: "2024-02"'), encoding="utf-8")

    refused = yibao(city, "area", "load", str(changed))

    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "2024-02" in refused.stderr
    assert "months up to 2024-03" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert count(city, "area_policy") == 2
    reloaded = yibao(city, "area", "load", str(AREA_FILE))
    assert reloaded.returncode == 0, reloaded.stderr


def test_activating_an_active_card_again_is_refused_and_keeps_its_pin(city: Path) -> None:
    steps = [
        ("card", "issue", PERSON, "A10000001", "--on", "2024-05-02"),
        ("card", "activate", PERSON, "--on", "2024-05-03"),
    ]
    for step in steps:
        done = yibao_with_input(city, "246810\n", *step)
        assert done.returncode == 0, done.stderr

    again = yibao_with_input(city, "135790\n", "card", "activate", PERSON, "--on", "2024-05-04")

    assert again.returncode == 1, again.stdout + again.stderr
    assert "card_already_active" in again.stderr
    assert "reset-pin" in again.stderr
    asked = yibao_with_input(
        city, "246810\n", "inquire", "--card", "A10000001", "--channel", "bank_counter"
    )
    assert asked.returncode == 0, asked.stderr


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("person", "register", PERSON, "--employer", "E001", "--on", ""), "--on"),
        (("person", "leave", PERSON, "--employer", "E001", "--on", " "), "--on"),
        (("card", "issue", PERSON, "A10000001", "--on", ""), "--on"),
        (
            (*PAY, "--received", ""),
            "--received",
        ),
        (("pos", "clear", "--institution", "P001", "--day", ""), "--day"),
        (("pos", "statement", "--institution", "P001", "--day", ""), "--day"),
        (("pos", "refund", "--ref", "R-1", "--day", ""), "--day"),
        (("ledger", "balance", "--person", PERSON, "--as-of", ""), "--as-of"),
        (("inquire", "--person", PERSON, "--as-of", ""), "--as-of"),
    ],
)
def test_an_empty_date_option_is_refused_not_taken_as_today(
    city: Path, args: tuple[str, ...], option: str
) -> None:
    tables = ("employment", "enrollment", "card", "contribution", "ledger_transfer")
    before = [count(city, table) for table in tables]

    done = yibao(city, *args)

    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{option}: " in done.stderr
    assert "YYYY-MM-DD" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert [count(city, table) for table in tables] == before


def test_a_month_s_medical_paid_twice_is_refused_the_second_time(city: Path) -> None:
    first = yibao(city, *PAY, "--received", "2024-04-15")
    assert first.returncode == 0, first.stderr

    again = yibao(city, *PAY, "--received", "2024-04-20")

    assert again.returncode == 1, again.stdout + again.stderr
    assert "already_paid" in again.stderr
    assert "medical paid for 2024-04 already" in again.stderr
    assert (count(city, "contribution"), count(city, "ledger_transfer")) == (1, 1)
