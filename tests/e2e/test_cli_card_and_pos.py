"""A clerk issues a card, a pharmacy cashier settles with it, the person asks why: all by CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cli import PERSON, yibao, yibao_with_input


@pytest.fixture
def credited(city: Path) -> Path:
    steps = [
        ("institution", "add", "P001", "Example Pharmacy", "pharmacy", "--area", "420100"),
        (
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
        ),
        ("credit", "run", "--month", "2024-04"),
        ("card", "issue", PERSON, "A10000001", "--on", "2024-05-02"),
        ("card", "activate", PERSON, "--pin", "246810", "--on", "2024-05-03"),
    ]
    for step in steps:
        done = yibao(city, *step)
        assert done.returncode == 0, done.stderr
    return city


def test_a_cashier_settles_with_card_and_pin_and_the_receipt_shows_who_paid_what(
    credited: Path,
) -> None:
    done = yibao(
        credited,
        "pos",
        "settle",
        "--institution",
        "P001",
        "--ref",
        "R1",
        "--card",
        "A10000001",
        "--pin",
        "246810",
        "--item",
        "A01:1:100.00",
        "--item",
        "V02:1:50.00:own",
        "--day",
        "2024-05-06",
    )
    assert done.returncode == 0, done.stderr
    assert "personal account paid" in done.stdout
    assert "100.00" in done.stdout
    assert "paid by the person" in done.stdout
    assert "50.00" in done.stdout
    statement = yibao(credited, "pos", "statement", "--institution", "P001", "--day", "2024-05-06")
    assert statement.returncode == 0, statement.stdout
    asked = yibao(credited, "inquire", "--person", PERSON, "--as-of", "2024-05-07", "--json")
    answer = json.loads(asked.stdout)
    assert answer["medical_balance"] == "20.00"
    assert "balance_spent" in [f["code"] for f in answer["findings"]]
    assert PERSON not in asked.stdout  # the ID number is masked


def test_a_wrong_pin_is_refused_and_nothing_is_paid(credited: Path) -> None:
    done = yibao(
        credited,
        "pos",
        "settle",
        "--institution",
        "P001",
        "--ref",
        "R2",
        "--card",
        "A10000001",
        "--pin",
        "000000",
        "--item",
        "A01:1:10.00",
    )
    assert done.returncode == 1
    assert "wrong_pin" in done.stderr
    assert "5 tries left" in done.stderr
    asked = yibao(credited, "inquire", "--person", PERSON, "--as-of", "2024-05-07", "--json")
    assert json.loads(asked.stdout)["medical_balance"] == "120.00"


def test_a_lost_card_is_refused_at_the_pos(credited: Path) -> None:
    assert yibao(credited, "card", "report-loss", PERSON).returncode == 0
    done = yibao(
        credited,
        "pos",
        "settle",
        "--institution",
        "P001",
        "--ref",
        "R3",
        "--card",
        "A10000001",
        "--pin",
        "246810",
        "--item",
        "A01:1:10.00",
    )
    assert done.returncode == 1
    assert "card_reported_lost" in done.stderr


def test_the_atm_shows_the_bank_account_after_the_pin_and_only_once_activated(
    credited: Path,
) -> None:
    refused = yibao_with_input(
        credited, "246810\n", "inquire", "--card", "A10000001", "--channel", "atm"
    )
    assert refused.returncode == 1
    assert "financial_not_activated" in refused.stderr
    assert yibao(credited, "card", "activate-financial", PERSON).returncode == 0
    assert yibao(credited, "card", "deposit", PERSON, "--amount", "200").returncode == 0
    shown = yibao_with_input(
        credited, "246810\n", "inquire", "--card", "A10000001", "--channel", "atm", "--json"
    )
    answer = json.loads(shown.stdout[shown.stdout.index("{") :])
    assert answer["shown_balance"] == "200.00"
    assert answer["medical_balance"] == "120.00"
    assert answer["findings"][0]["code"] == "financial_account_queried"


def test_the_bank_counter_needs_the_right_pin(credited: Path) -> None:
    wrong = yibao_with_input(
        credited, "111111\n", "inquire", "--card", "A10000001", "--channel", "bank_counter"
    )
    assert wrong.returncode == 1
    assert "wrong_pin" in wrong.stderr
    right = yibao_with_input(
        credited, "246810\n", "inquire", "--card", "A10000001", "--channel", "bank_counter"
    )
    assert right.returncode == 0
    assert "shows 120.00 yuan (medical account)" in right.stdout


@pytest.mark.parametrize("channel", ["atm", "terminal", "bank_counter"])
def test_a_card_channel_does_not_answer_to_an_id_number_without_the_card_and_pin(
    credited: Path, channel: str
) -> None:
    done = yibao(credited, "inquire", "--person", PERSON, "--channel", channel)
    assert done.returncode == 2
    assert f"channel: '{channel}' is a card channel" in done.stderr
    assert "balance" not in done.stdout


def test_an_unknown_card_or_ref_exits_2_like_every_other_unknown_code(credited: Path) -> None:
    unknown_card = yibao(
        credited,
        "pos",
        "settle",
        "--institution",
        "P001",
        "--ref",
        "R9",
        "--card",
        "A99999999",
        "--pin",
        "246810",
        "--item",
        "A01:1:10.00",
    )
    assert unknown_card.returncode == 2, unknown_card.stderr
    assert "unknown_card" in unknown_card.stderr
    unknown_ref = yibao(credited, "pos", "refund", "--ref", "NEVER-SOLD", "--day", "2024-05-07")
    assert unknown_ref.returncode == 2, unknown_ref.stderr
    assert "unknown_ref" in unknown_ref.stderr
    unknown_institution = yibao(
        credited, "pos", "statement", "--institution", "X001", "--day", "2024-05-07"
    )
    assert unknown_institution.returncode == 2
