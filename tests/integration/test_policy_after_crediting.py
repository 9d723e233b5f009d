"""A policy cannot start in a month crediting has covered: the explainer would contradict it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from tests.scenario_files import EXAMPLES
from yibao.adapters.tables import AreaPolicy
from yibao.bootstrap import App
from yibao.domain.errors import Conflict
from yibao.domain.months import Month
from yibao.services import registry
from yibao.services.contributions.crediting import run_crediting

AREA = "420100"


@pytest.fixture
def area_block() -> dict[str, Any]:
    """Example City: policies from 2015-01 and 2023-01."""
    document = yaml.safe_load((EXAMPLES / "01_medical_left_out.yaml").read_text())
    return dict(document["area"])


@pytest.fixture
def credited(app: App, area_block: dict[str, Any]) -> App:
    """The area, credited by the month-end runs of January and February 2024."""
    with app.uow() as uow:
        registry.load_area(uow=uow, document=area_block)
    for month in (Month(2024, 1), Month(2024, 2)):
        run_crediting(uow_factory=app.uow, area_code=AREA, month=month)
    return app


def _with_policy_from(area_block: dict[str, Any], month: str) -> dict[str, Any]:
    """The area block plus the 2023 policy with a higher retiree amount, from `month`."""
    changed = copy.deepcopy(area_block)
    policy = copy.deepcopy(changed["policies"][-1])
    policy["from"] = month
    policy["retiree"] = {"monthly_amount": 120}
    changed["policies"].append(policy)
    return changed


def _load(app: App, document: dict[str, Any]) -> None:
    with app.uow() as uow:
        registry.load_area(uow=uow, document=document)


def _policy_months(app: App) -> list[str]:
    with app.uow() as uow:
        return list(
            uow.session.scalars(
                select(AreaPolicy.effective_from).order_by(AreaPolicy.effective_from)
            )
        )


@pytest.mark.parametrize("month", ["2024-02", "2024-01", "2016-01"])
def test_a_policy_from_a_credited_month_is_refused_and_nothing_is_written(
    credited: App, area_block: dict[str, Any], month: str
) -> None:
    with pytest.raises(Conflict, match=rf"from {month} .* months up to 2024-02"):
        _load(credited, _with_policy_from(area_block, month))

    assert _policy_months(credited) == ["2015-01", "2023-01"]


def test_a_policy_from_the_month_after_the_last_credited_one_is_accepted(
    credited: App, area_block: dict[str, Any]
) -> None:
    _load(credited, _with_policy_from(area_block, "2024-03"))

    assert _policy_months(credited) == ["2015-01", "2023-01", "2024-03"]


def test_reloading_the_same_policies_after_crediting_changes_nothing(
    credited: App, area_block: dict[str, Any]
) -> None:
    _load(credited, area_block)
    _load(credited, area_block)

    assert _policy_months(credited) == ["2015-01", "2023-01"]
    with credited.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(AreaPolicy)) == 2
