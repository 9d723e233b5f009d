"""Fixtures for end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import make_city


@pytest.fixture
def city(tmp_path: Path) -> Path:
    """A SQLite city made through the CLI: area, employer, one registered employee."""
    return make_city(tmp_path)
