"""The public acceptance scenarios replay through the real services on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from yibao.domain.money import yuan_to_fen
from yibao.services.scenario.model import load_scenario
from yibao.services.scenario.replay import HANDLERS, replay

SCENARIOS = Path(__file__).resolve().parents[2].parent / "shared" / "scenarios"
BALANCE_KEYS = {
    "medical_balance": "medical_fen",
    "financial_balance": "financial_fen",
    "shown_balance": "shown_fen",
}


def _files_with_supported_events() -> list[Path]:
    files = sorted(SCENARIOS.glob("*.yaml"))
    return [f for f in files if all(e.do in HANDLERS for e in load_scenario(f).events)]


def test_the_public_scenarios_are_there_and_some_need_only_this_stage() -> None:
    assert len(list(SCENARIOS.glob("*.yaml"))) >= 6
    assert len(_files_with_supported_events()) >= 2


@pytest.mark.parametrize("path", _files_with_supported_events(), ids=lambda p: p.stem)
def test_scenario_gives_its_expected_balances(path: Path, engine: Engine) -> None:
    result = replay(load_scenario(path), engine)
    assert not result.unsupported
    assert result.rejections_ok
    for answer in result.answers:
        for key, attribute in BALANCE_KEYS.items():
            if key in answer.query.expect:
                assert getattr(answer, attribute) == yuan_to_fen(answer.query.expect[key]), (
                    f"{path.name} line {answer.query.line}: {key}"
                )


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_public_scenario_replays_without_crashing(path: Path, engine: Engine) -> None:
    result = replay(load_scenario(path), engine)
    assert len(result.answers) == len(result.scenario.queries)
    for note in result.unsupported:
        assert "not supported yet" in note


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_public_scenario_passes_its_whole_expectation(path: Path, engine: Engine) -> None:
    result = replay(load_scenario(path), engine)
    failures = [f"line {a.query.line}: {a.failures}" for a in result.answers if not a.ok]
    assert failures == []
    assert result.rejections_ok, [r.code for r in result.rejections]
    assert result.ok
