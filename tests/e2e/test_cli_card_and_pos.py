"""A clerk issues a card, a pharmacy cashier settles with it, the person asks why: all by CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cli import PERSON, count, yibao, yibao_with_input


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
    ]
    for step in steps:
        done = yibao(city, *step)
        assert done.returncode == 0, done.stderr
    activated = yibao_with_input(city, "246810\n", "card", "activate", PERSON, "--on", "2024-05-03")
    assert activated.returncode == 0, activated.stderr
    return city


def test_a_cashier_settles_with_card_and_pin_and_the_receipt_shows_who_paid_what(
    credited: Path,
) -> None:
    done = yibao_with_input(
        credited,
        "246810\n",
        "pos",
        "settle",
        "--institution",
        "P001",
        "--ref",
        "R1",
        "--card",
        "A10000001",
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
    done = yibao_with_input(
        credited,
        "000000\n",
        "pos",
        "settle",
        "--institution",
        "P001",
        "--ref",
        "R2",
        "--card",
        "A10000001",
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
    done = yibao_with_input(
        credited,
        "246810\n",
        "pos",
        "settle",
        "--institution",
        "P001",
        "--ref",
        "R3",
        "--card",
        "A10000001",
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
    assert (
        yibao(credited, "card", "deposit", PERSON, "--amount", "200", "--ref", "D1").returncode == 0
    )
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


def test_an_electronic_card_pays_for_one_sale_only(credited: Path) -> None:
    shown = yibao(credited, "card", "electronic", PERSON)
    assert shown.returncode == 0, shown.stderr
    payload = shown.stdout.strip()
    sale = ("pos", "settle", "--institution", "P001", "--ecard", payload, "--item", "A01:1:10.00")

    assert yibao(credited, *sale, "--ref", "R-qr-1").returncode == 0
    replayed = yibao(credited, *sale, "--ref", "R-qr-2")

    assert replayed.returncode == 1
    assert "evoucher_used" in replayed.stderr
    assert count(credited, "settlement") == 1


def test_outside_development_yibao_refuses_to_run_with_the_development_keys(
    credited: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YIBAO_ENV", "production")
    monkeypatch.delenv("YIBAO_CARD_SECRET", raising=False)

    for command in (("card", "electronic", PERSON), ("inquire", "--person", PERSON)):
        refused = yibao(credited, *command)
        assert refused.returncode == 2, refused.stderr
        assert "YIBAO_CARD_SECRET" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("channel", ["atm", "terminal", "bank_counter"])
def test_a_card_channel_does_not_answer_to_an_id_number_without_the_card_and_pin(
    credited: Path, channel: str
) -> None:
    done = yibao(credited, "inquire", "--person", PERSON, "--channel", channel)
    assert done.returncode == 2
    assert f"channel: '{channel}' is a card channel" in done.stderr
    assert "balance" not in done.stdout


def test_a_pin_is_never_taken_from_the_command_line(credited: Path) -> None:
    for command in (
        ("card", "activate", PERSON, "--pin", "246810"),
        ("card", "change-pin", "A10000001", "--old", "246810", "--new", "135790"),
        ("card", "reset-pin", "A10000001", "--new", "135790"),
        (
            "pos",
            "settle",
            "--institution",
            "P001",
            "--ref",
            "R9",
            "--card",
            "A10000001",
            "--pin",
            "246810",
            "--item",
            "A01:1:10.00",
        ),
    ):
        refused = yibao_with_input(credited, "", *command)
        assert refused.returncode == 2, command
        assert "No such option" in refused.stderr
    assert count(credited, "settlement") == 0


def test_the_pin_is_changed_with_the_old_and_new_pins_on_stdin(credited: Path) -> None:
    changed = yibao_with_input(credited, "246810\n135790\n", "card", "change-pin", "A10000001")
    assert changed.returncode == 0, changed.stderr

    sale = ("pos", "settle", "--institution", "P001", "--card", "A10000001", "--item", "A01:1:1")
    assert yibao_with_input(credited, "246810\n", *sale, "--ref", "R-old").returncode == 1
    assert yibao_with_input(credited, "135790\n", *sale, "--ref", "R-new").returncode == 0


def test_a_missing_pin_on_stdin_is_bad_input_and_nothing_is_paid(credited: Path) -> None:
    sale = ("pos", "settle", "--institution", "P001", "--card", "A10000001", "--item", "A01:1:1")
    refused = yibao_with_input(credited, "", *sale, "--ref", "R-no-pin")

    assert refused.returncode == 2
    assert "pin" in refused.stderr
    assert count(credited, "settlement") == 0


def test_a_deposit_or_withdrawal_needs_a_ref_and_a_retry_with_it_posts_once(
    credited: Path,
) -> None:
    assert yibao(credited, "card", "activate-financial", PERSON).returncode == 0
    without_ref = yibao(credited, "card", "deposit", PERSON, "--amount", "200")
    assert without_ref.returncode == 2
    assert "--ref" in without_ref.stderr

    for _ in range(2):  # the counter retries after a timeout
        done = yibao(credited, "card", "deposit", PERSON, "--amount", "200", "--ref", "D1")
        assert done.returncode == 0, done.stderr
        assert "financial account 200.00" in done.stdout
    for _ in range(2):
        done = yibao(credited, "card", "withdraw", PERSON, "--amount", "50", "--ref", "W1")
        assert done.returncode == 0, done.stderr
        assert "financial account 150.00" in done.stdout

    reused = yibao(credited, "card", "deposit", PERSON, "--amount", "300", "--ref", "D1")
    assert reused.returncode == 1
    assert "idempotency_conflict" in reused.stderr
    blank = yibao(credited, "card", "withdraw", PERSON, "--amount", "50", "--ref", " ")
    assert blank.returncode == 2
    assert "ref" in blank.stderr
    assert count(credited, "ledger_transfer WHERE kind IN ('deposit', 'withdrawal')") == 2
