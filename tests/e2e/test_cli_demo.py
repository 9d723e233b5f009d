"""`yibao demo run` as a newcomer runs it, in an empty folder with the default SQLite database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from yibao.demo import SHOWCASE, SHOWCASE_PERSONS, SHOWCASE_PIN
from yibao.domain.idnumber import mask


def yibao(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yibao.entrypoints.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
        env={**_without_yibao_settings(), "COLUMNS": "120"},
    )


def _without_yibao_settings() -> dict[str, str]:
    """The environment without YIBAO_* settings, so the default database URL applies."""
    return {k: v for k, v in os.environ.items() if not k.startswith("YIBAO_")}


def test_demo_run_makes_a_city_credits_it_and_shows_balances(tmp_path: Path) -> None:
    began = time.perf_counter()
    done = yibao("demo", "run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert time.perf_counter() - began < 30
    assert (tmp_path / "yibao.db").exists()
    out = done.stdout
    for scheme in ("employee", "flexible/basic", "flexible/full", "retiree", "resident"):
        assert scheme in out
    assert re.search(rf"all\s*│\s*{300 + SHOWCASE_PERSONS} ", out)
    assert f"card PIN {SHOWCASE_PIN}" in out
    assert mask(SHOWCASE[0].id_number) in out  # the showcase's persons, masked
    assert re.search(r"contributions: [\d,]+", out)
    assert re.search(r"total credited: \d+\.\d\d yuan", out)
    funded = re.search(r"personal accounts with a positive balance: ([\d,]+)", out)
    assert funded is not None
    assert int(funded[1].replace(",", "")) > 0
    assert re.search(r"4201\*{10}[\dX]{4}", out)  # masked ID numbers only
    assert not re.search(r"\b4201\d{13}[\dX]\b", out)
    assert "ledger check: OK" in out


def test_demo_run_again_reuses_the_city_and_credits_nothing_twice(tmp_path: Path) -> None:
    first = yibao("demo", "run", "--persons", "120", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = yibao("demo", "run", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"reusing the {120 + SHOWCASE_PERSONS} persons" in again.stdout
    assert "0 contributions and 0 retiree credits posted" in again.stdout
    total = re.compile(r"total credited: (\S+) yuan")
    assert total.findall(first.stdout) == total.findall(again.stdout)


def test_demo_generate_prints_the_city_and_its_crediting(tmp_path: Path) -> None:
    done = yibao(
        "demo",
        "generate",
        "--persons",
        "500",
        "--months",
        "3",
        "--start",
        "2024-01",
        "--db",
        f"sqlite:///{tmp_path}/city.db",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "persons: resident" in done.stdout
    assert "employers" in done.stdout
    assert re.search(r"crediting: 3 monthly runs, [\d,]+ contributions", done.stdout)


def test_demo_generate_refuses_a_bad_start_month(tmp_path: Path) -> None:
    done = yibao("demo", "generate", "--persons", "10", "--start", "2024-13", cwd=tmp_path)
    assert done.returncode == 2
    assert "--start" in done.stderr
