"""The bootstrap puts the configured PIN pepper in force for the process."""

from __future__ import annotations

from pathlib import Path

import pytest

from yibao.bootstrap import bootstrap
from yibao.services import cards


def test_bootstrap_sets_the_pin_pepper_from_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(cards, "_pin_pepper", cards._pin_pepper)  # restored afterwards
    monkeypatch.setenv("YIBAO_PIN_PEPPER", "p" * 40)

    app = bootstrap(f"sqlite:///{tmp_path / 'yibao.db'}")
    app.engine.dispose()

    assert cards._pin_pepper == b"p" * 40
