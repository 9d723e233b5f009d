"""The example scenarios, and the acceptance ones where present, replay through the real services
on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.scenario_files import (
    ACCEPTANCE,
    acceptance_files,
    all_scenario_files,
    example_files,
    require_acceptance,
    scenario_id,
)
from yibao.domain.money import yuan_to_fen
from yibao.scenario.model import load_scenario
from yibao.scenario.replay import HANDLERS, replay

BALANCE_KEYS = {
    "medical_balance": "medical_fen",
    "financial_balance": "financial_fen",
    "shown_balance": "shown_fen",
}


def _files_with_supported_events() -> list[Path]:
    files = all_scenario_files()
    return [f for f in files if all(e.do in HANDLERS for e in load_scenario(f).events)]


def test_the_examples_are_there_and_need_only_supported_events() -> None:
    examples = example_files()
    assert len(examples) >= 6
    assert set(examples) <= set(_files_with_supported_events())


def test_the_acceptance_scenarios_are_there() -> None:
    require_acceptance()
    assert len(acceptance_files()) >= 6, ACCEPTANCE


@pytest.mark.parametrize("path", _files_with_supported_events(), ids=scenario_id)
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


@pytest.mark.parametrize("path", all_scenario_files(), ids=scenario_id)
def test_every_scenario_replays_without_crashing(path: Path, engine: Engine) -> None:
    result = replay(load_scenario(path), engine)
    assert len(result.answers) == len(result.scenario.queries)
    for note in result.unsupported:
        assert "not supported yet" in note


@pytest.mark.parametrize("path", all_scenario_files(), ids=scenario_id)
def test_every_scenario_passes_its_whole_expectation(path: Path, engine: Engine) -> None:
    result = replay(load_scenario(path), engine)
    failures = [f"line {a.query.line}: {a.failures}" for a in result.answers if not a.ok]
    assert failures == []
    assert result.rejections_ok, [r.code for r in result.rejections]
    assert result.ok


def _examples_with_settlements() -> list[Path]:
    return [f for f in example_files() if load_scenario(f).settlements]


def test_the_examples_prove_the_pooled_fund_without_the_acceptance_folder() -> None:
    assert len(_examples_with_settlements()) >= 2


@pytest.mark.parametrize("path", _examples_with_settlements(), ids=scenario_id)
def test_each_listed_settlement_is_compared_and_a_wrong_split_fails(
    path: Path, engine: Engine
) -> None:
    scenario = load_scenario(path)
    first = scenario.settlements[0]
    wrong = dataclasses.replace(first, expect={**first.expect, "fund_paid": "0.01"})
    result = replay(
        dataclasses.replace(scenario, settlements=[wrong, *scenario.settlements[1:]]), engine
    )

    compared = [s for s in result.settlements if s.expectation is not None]
    assert len(compared) == len(scenario.settlements)
    assert [s.ok for s in compared].count(False) == 1
    assert any("fund_paid: expected 0.01" in f for s in compared for f in s.failures)
    assert not result.ok
    settled = {s.ref: s for s in result.settlements}
    for split in settled.values():  # the three parts add up to the bill
        assert split.fund_fen + split.account_fen + split.cash_fen == split.total_fen
