"""Dates on the CLI that cannot lie: credited months, card states, and empty date options."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.cli import PERSON, count, yibao, yibao_with_input
from tests.integration.test_scenarios import SCENARIOS

AREA_FILE = SCENARIOS / "01_employer_paid_pension_only.yaml"


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
        ("card", "activate", PERSON, "--pin", "246810", "--on", "2024-05-03"),
    ]
    for step in steps:
        done = yibao(city, *step)
        assert done.returncode == 0, done.stderr

    again = yibao(city, "card", "activate", PERSON, "--pin", "135790", "--on", "2024-05-04")

    assert again.returncode == 1, again.stdout + again.stderr
    assert "card_already_active" in again.stderr
    assert "reset-pin" in again.stderr
    asked = yibao_with_input(
        city, "246810\n", "inquire", "--card", "A10000001", "--channel", "bank_counter"
    )
    assert asked.returncode == 0, asked.stderr
