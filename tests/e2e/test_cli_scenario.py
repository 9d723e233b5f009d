"""`yibao scenario ...` as a user runs it: exit codes and messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.scenario_files import EXAMPLES


def yibao(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yibao.entrypoints.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
        env={**os.environ, "YIBAO_ENV": "development"},  # test databases, development keys
    )


def test_scenario_run_json_answers_with_yuan_strings() -> None:
    done = yibao("scenario", "run", str(EXAMPLES / "04_flexible_tier_change.yaml"), "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)["answers"][1]
    assert answer["medical_balance"] == "120.00"
    assert answer["shown_balance"] == "120.00"


def test_scenario_run_json_shows_id_numbers_masked() -> None:
    story = EXAMPLES / "08_family_aid.yaml"
    done = yibao("scenario", "run", str(story), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["answers"][0]["person"] == "4201**********1351"
    for id_number in ("420102198610211351", "420102201506011469", "420102195002141579"):
        assert id_number not in done.stdout


def test_a_malformed_file_exits_2_naming_the_line(tmp_path: Path) -> None:
    text = (EXAMPLES / "06_resident_no_account.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        text.replace('"420112199612056241", name', '"420112199612056242", name'), encoding="utf-8"
    )
    done = yibao("scenario", "check", str(broken))
    assert done.returncode == 2
    assert "broken.yaml:" in done.stderr
    assert "check character" in done.stderr


def test_events_out_of_date_order_are_refused_with_the_line(tmp_path: Path) -> None:
    text = (EXAMPLES / "06_resident_no_account.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "order.yaml"
    broken.write_text(text.replace("date: 2024-12-10", "date: 2024-11-20"), encoding="utf-8")
    done = yibao("scenario", "run", str(broken))
    assert done.returncode == 2
    assert "order.yaml:48" in done.stderr
    assert "before the previous event" in done.stderr


def test_bad_yaml_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "bad.yaml"
    broken.write_text("name: [unclosed\n", encoding="utf-8")
    done = yibao("scenario", "run", str(broken))
    assert done.returncode == 2
    assert "bad YAML" in done.stderr


def _balances_only(tmp_path: Path, medical: str) -> Path:
    text = (EXAMPLES / "04_flexible_tier_change.yaml").read_text(encoding="utf-8")
    head = text.split("queries:")[0]
    path = tmp_path / "balances.yaml"
    path.write_text(
        head + 'queries:\n  - person: "420107198302274619"\n    as_of: 2023-04-30\n'
        f'    channel: web\n    expect: {{medical_balance: "{medical}"}}\n',
        encoding="utf-8",
    )
    return path


def test_check_passes_when_every_expectation_holds(tmp_path: Path) -> None:
    done = yibao("scenario", "check", str(_balances_only(tmp_path, "120.00")))
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines()[-1] == "1 passed, 0 failed"


def test_check_fails_and_says_why_when_a_balance_differs(tmp_path: Path) -> None:
    done = yibao("scenario", "check", str(_balances_only(tmp_path, "119.99")))
    assert done.returncode == 1
    assert "expected 119.99, got 120.00" in done.stdout
    assert done.stdout.splitlines()[-1] == "0 passed, 1 failed"


XU = "420111197208195375"  # example 05: 960.00 credited, spent to zero, 400.00 refunded


def test_a_story_replayed_into_a_database_stays_there_for_the_other_commands(
    empty_database_url: str,
) -> None:
    story = str(EXAMPLES / "05_spent_to_zero_then_refunded.yaml")
    done = yibao("scenario", "run", story, "--db", empty_database_url)
    assert done.returncode == 0, done.stderr
    assert "[already_refunded]" in done.stdout
    asked = yibao(
        "inquire", "--person", XU, "--as-of", "2021-04-20", "--json", "--db", empty_database_url
    )
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["medical_balance"] == "400.00"
    checked = yibao("ledger", "check", "--db", empty_database_url)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_story_is_not_replayed_into_a_database_that_holds_records(
    empty_database_url: str,
) -> None:
    story = str(EXAMPLES / "05_spent_to_zero_then_refunded.yaml")
    assert yibao("scenario", "run", story, "--db", empty_database_url).returncode == 0
    again = yibao("scenario", "run", story, "--db", empty_database_url)
    assert again.returncode == 2
    assert "already holds records" in again.stderr
    asked = yibao(
        "inquire", "--person", XU, "--as-of", "2021-04-20", "--json", "--db", empty_database_url
    )
    assert json.loads(asked.stdout)["medical_balance"] == "400.00"  # nothing replayed twice


def test_check_compares_each_settlement_and_names_a_wrong_split(tmp_path: Path) -> None:
    story = EXAMPLES / "09_retiree_in_hospital.yaml"
    passed = yibao("scenario", "check", str(story))
    text = story.read_text(encoding="utf-8")
    wrong = tmp_path / "wrong_split.yaml"
    wrong.write_text(text.replace('fund_paid: "37.50"', 'fund_paid: "37.49"'), encoding="utf-8")
    failed = yibao("scenario", "check", str(wrong))

    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "OP-0903" in passed.stdout
    assert failed.returncode == 1
    assert "fund_paid: expected 37.49, got 37.50" in failed.stdout
    *_, last = failed.stdout.splitlines()
    assert last.endswith("1 failed")
