"""The layer rules of pyproject's [tool.importlinter] hold (import-linter, a dev dependency)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        from importlinter.cli import lint_imports
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0
