"""Where the tests find scenario files.

The project's own examples (examples/scenarios) always run. The acceptance scenarios in
../shared/scenarios, beside the repository, run in addition when that folder is there; in CI
(CI is set) it must be there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "scenarios"
ACCEPTANCE = ROOT.parent / "shared" / "scenarios"


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.yaml"))


def acceptance_files() -> list[Path]:
    return sorted(ACCEPTANCE.glob("*.yaml")) if ACCEPTANCE.is_dir() else []


def all_scenario_files() -> list[Path]:
    return example_files() + acceptance_files()


def require_acceptance() -> None:
    """Skip where the acceptance folder is absent, except in CI, where that fails."""
    if ACCEPTANCE.is_dir():
        return
    problem = f"the acceptance scenarios are not at {ACCEPTANCE}"
    if os.environ.get("CI"):
        pytest.fail(problem)
    pytest.skip(problem)


def scenario_id(path: Path) -> str:
    """`examples/01_...` or `shared/01_...`: a test id that says which set a file is from."""
    return f"{path.parent.parent.name}/{path.stem}"
