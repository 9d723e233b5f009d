"""Bad input on the CLI: one clear line naming the field and value, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import PERSON, count, yibao
from tests.scenario_files import EXAMPLES


def test_a_clerk_records_a_contribution_and_the_month_end_run_credits_it(city: Path) -> None:
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
    assert "will credit 120.00" in paid.stdout
    assert yibao(city, "credit", "run", "--month", "2024-04").returncode == 0
    shown = yibao(city, "ledger", "balance", "--person", PERSON, "--as-of", "2024-05-01")
    assert "medical personal account 120.00 yuan" in shown.stdout
    assert yibao(city, "ledger", "check").returncode == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("person", "add", "420102199003071233", "Li", "--area", "420100"), "check character"),
        (("person", "add", "110101199001011237", "Li", "--area", "999999"), "999999"),
        (
            (
                "contribution",
                "pay",
                "--person",
                PERSON,
                "--month",
                "2024-04",
                "--base",
                "6000.005",
                "--insurances",
                "medical",
                "--received",
                "2024-04-15",
            ),
            "more than two decimals",
        ),
        (
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
                "medical",
                "--received",
                "2024-02-30",
            ),
            "not a date that exists",
        ),
        (
            (
                "contribution",
                "pay",
                "--person",
                PERSON,
                "--month",
                "2024-13",
                "--base",
                "6000",
                "--insurances",
                "medical",
                "--received",
                "2024-04-15",
            ),
            "month",
        ),
        (
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
                "dental",
                "--received",
                "2024-04-15",
            ),
            "dental",
        ),
    ],
)
def test_bad_input_exits_2_with_a_clear_message_and_writes_nothing(
    city: Path, args: tuple[str, ...], says: str
) -> None:
    before = (count(city, "person"), count(city, "contribution"), count(city, "ledger_transfer"))
    done = yibao(city, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stderr
    assert "Traceback" not in done.stderr
    after = (count(city, "person"), count(city, "contribution"), count(city, "ledger_transfer"))
    assert after == before


def test_a_malformed_policy_file_exits_2_and_loads_nothing(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    policy = tmp_path / "area.yaml"
    text_ = (EXAMPLES / "01_medical_left_out.yaml").read_text(encoding="utf-8")
    policy.write_text(
        text_.replace("employer_rate: 0.08", "employer_rate: 1.8", 1), encoding="utf-8"
    )
    done = yibao(db, "area", "load", str(policy))
    assert done.returncode == 2
    assert "employer_rate" in done.stderr
    assert count(db, "area") == 0


def test_a_payment_for_a_person_without_a_scheme_is_refused(city: Path) -> None:
    done = yibao(
        city,
        "contribution",
        "pay",
        "--person",
        PERSON,
        "--month",
        "2024-01",
        "--base",
        "6000",
        "--insurances",
        "medical",
        "--received",
        "2024-01-05",
    )
    assert done.returncode == 1
    assert "not_enrolled" in done.stderr
    assert count(city, "contribution") == 0


def test_payment_records_show_each_month_who_paid_and_what_was_credited(city: Path) -> None:
    for month, insurances in (("2024-03", "pension"), ("2024-04", "pension,medical")):
        paid = yibao(
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
            insurances,
            "--received",
            f"{month}-15",
        )
        assert paid.returncode == 0, paid.stderr
    assert yibao(city, "credit", "run", "--month", "2024-04").returncode == 0
    shown = yibao(city, "records", "--person", PERSON)
    assert shown.returncode == 0, shown.stderr
    march, april = [line for line in shown.stdout.splitlines() if "2024-0" in line][:2]
    assert "Example Machinery" in march
    assert "pending" not in march  # nothing to credit without medical insurance
    assert "120.00" in april
    assert "2024-04-30" in april
    assert PERSON not in shown.stdout


def test_adding_a_person_again_with_another_name_is_refused_and_changes_nothing(
    city: Path,
) -> None:
    done = yibao(city, "person", "add", PERSON, "Li Si", "--area", "420100")
    assert done.returncode == 1
    assert "already recorded with name 'Zhang Wei'" in done.stderr
    assert "recorded" not in done.stdout
    again = yibao(city, "person", "add", PERSON, "Zhang Wei", "--area", "420100")
    assert again.returncode == 0, again.stderr
