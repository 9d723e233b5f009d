"""Months, dates and ages; the effective-dated policy schedule of an area."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import yaml

from tests.scenario_files import EXAMPLES
from yibao.domain.errors import InvalidInput
from yibao.domain.months import Month, age_on, is_month_end, parse_date
from yibao.domain.policy import PolicySchedule, policy_from_dict, schedule_from_list

SCENARIO_01 = EXAMPLES / "01_medical_left_out.yaml"


@pytest.fixture(scope="module")
def policies() -> list[dict[str, Any]]:
    """The two policies of Example City: 2015-01 with age bands, 2023-01 without."""
    document = yaml.safe_load(SCENARIO_01.read_text(encoding="utf-8"))
    return list(document["area"]["policies"])


@pytest.fixture(scope="module")
def schedule(policies: list[dict[str, Any]]) -> PolicySchedule:
    return schedule_from_list(policies)


# -- months ---------------------------------------------------------------------------------
def test_a_month_is_parsed_from_its_iso_form() -> None:
    assert Month.parse("2024-03") == Month(2024, 3)
    assert str(Month.parse(" 2024-03 ")) == "2024-03"


def test_a_month_is_taken_from_a_date() -> None:
    assert Month.parse(dt.date(2024, 3, 31)) == Month(2024, 3)


@pytest.mark.parametrize("text", ["2024-13", "2024-00", "1899-12"])
def test_a_month_that_does_not_exist_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="not a month that exists"):
        Month.parse(text)


@pytest.mark.parametrize("text", ["2024-1", "abc", "", "2024/03", "24-03", "2024-03-01"])
def test_a_month_written_in_another_form_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidInput, match="YYYY-MM") as caught:
        Month.parse(text, field="events[3].month")
    assert caught.value.field == "events[3].month"


def test_months_compare_in_calendar_order_across_years() -> None:
    assert Month(2023, 12) < Month(2024, 1) < Month(2024, 2)
    assert Month(2023, 12).plus(1) == Month(2024, 1)
    assert Month(2024, 1).plus(-1) == Month(2023, 12)


def test_the_last_day_of_february_is_the_29th_in_a_leap_year() -> None:
    assert Month(2024, 2).last_day == dt.date(2024, 2, 29)


def test_the_last_day_of_february_is_the_28th_in_a_common_year() -> None:
    assert Month(2023, 2).last_day == dt.date(2023, 2, 28)


def test_the_first_day_of_a_month_is_the_first() -> None:
    assert Month(2024, 2).first_day == dt.date(2024, 2, 1)


def test_only_the_last_day_of_a_month_is_a_month_end() -> None:
    assert is_month_end(dt.date(2024, 2, 29))
    assert not is_month_end(dt.date(2024, 2, 28))
    assert is_month_end(dt.date(2023, 2, 28))


# -- dates and ages -------------------------------------------------------------------------
def test_a_date_is_parsed_from_its_iso_form() -> None:
    assert parse_date("2024-02-29") == dt.date(2024, 2, 29)
    assert parse_date(dt.datetime(2024, 2, 29, 13, 5)) == dt.date(2024, 2, 29)


@pytest.mark.parametrize("text", ["2023-02-29", "2024-04-31", "2024-13-01", "yesterday"])
def test_a_date_that_does_not_exist_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="not a date that exists") as caught:
        parse_date(text, field="events[0].date")
    assert caught.value.field == "events[0].date"


def test_the_day_before_a_birthday_the_age_is_not_yet_reached() -> None:
    assert age_on(dt.date(1990, 3, 15), dt.date(2025, 3, 14)) == 34


def test_on_the_birthday_the_age_is_reached() -> None:
    assert age_on(dt.date(1990, 3, 15), dt.date(2025, 3, 15)) == 35


def test_someone_born_on_29_february_is_a_year_older_on_1_march_of_a_common_year() -> None:
    born = dt.date(1992, 2, 29)
    assert age_on(born, dt.date(2023, 2, 28)) == 30
    assert age_on(born, dt.date(2023, 3, 1)) == 31
    assert age_on(born, dt.date(2024, 2, 29)) == 32


# -- the policy schedule --------------------------------------------------------------------
def test_the_policy_of_a_month_is_the_one_with_the_latest_from_not_after_it(
    schedule: PolicySchedule,
) -> None:
    assert schedule.for_month(Month(2015, 1)).effective_from == Month(2015, 1)
    assert schedule.for_month(Month(2022, 12)).effective_from == Month(2015, 1)
    assert schedule.for_month(Month(2023, 1)).effective_from == Month(2023, 1)
    assert schedule.for_month(Month(2030, 6)).effective_from == Month(2023, 1)


def test_the_schedule_does_not_depend_on_the_order_policies_are_written_in(
    policies: list[dict[str, Any]], schedule: PolicySchedule
) -> None:
    assert schedule_from_list(list(reversed(policies))) == schedule


def test_a_month_before_the_first_policy_is_refused(schedule: PolicySchedule) -> None:
    with pytest.raises(InvalidInput, match="before the area's first policy"):
        schedule.for_month(Month(2014, 12))


def test_the_policy_figures_are_read_exactly_from_the_file(schedule: PolicySchedule) -> None:
    old, reform = schedule.policies
    assert (old.base_floor_fen, old.base_ceiling_fen) == (400_000, 2_000_000)
    assert (reform.base_floor_fen, reform.base_ceiling_fen) == (420_000, 2_100_000)
    assert old.employer_share_rate(34) == Decimal("0.008")
    assert old.employer_share_rate(35) == Decimal("0.010")
    assert old.employer_share_rate(45) == Decimal("0.020")
    assert old.retiree_monthly_fen == 8000
    assert reform.retiree_monthly_fen == 9000
    assert reform.resident_annual_fen == 40_000
    assert old.tier("full").account_rate == Decimal("0.02")


def test_the_reform_policy_credits_no_employer_share_and_the_old_one_did(
    schedule: PolicySchedule,
) -> None:
    old, reform = schedule.policies
    assert old.credits_employer_share
    assert not reform.credits_employer_share
    assert reform.employer_share_rate(50) == 0
    assert schedule.earlier_than(Month(2024, 4)) == (old,)
    assert schedule.earlier_than(Month(2020, 1)) == ()


def test_an_unknown_flexible_tier_is_refused_listing_the_known_ones(
    schedule: PolicySchedule,
) -> None:
    with pytest.raises(InvalidInput, match="known: basic, full"):
        schedule.policies[0].tier("gold")


def test_the_base_is_clamped_to_floor_and_ceiling(schedule: PolicySchedule) -> None:
    old = schedule.policies[0]
    assert old.clamp_base(100_000) == 400_000
    assert old.clamp_base(600_000) == 600_000
    assert old.clamp_base(9_000_000) == 2_000_000


# -- malformed policy blocks ----------------------------------------------------------------
def _broken(policies: list[dict[str, Any]], change: Any) -> list[dict[str, Any]]:
    broken = copy.deepcopy(policies)
    change(broken[1])
    return broken


def test_a_policy_without_a_contribution_base_is_refused_naming_it(
    policies: list[dict[str, Any]],
) -> None:
    broken = _broken(policies, lambda p: p.pop("contribution_base"))
    with pytest.raises(InvalidInput, match="is missing") as caught:
        schedule_from_list(broken)
    assert caught.value.field == "area.policies[1].contribution_base"


def test_a_policy_whose_floor_is_above_its_ceiling_is_refused(
    policies: list[dict[str, Any]],
) -> None:
    inverted = {"floor": 5000, "ceiling": 4000}
    broken = _broken(policies, lambda p: p.update(contribution_base=inverted))
    with pytest.raises(InvalidInput, match="floor above its ceiling") as caught:
        schedule_from_list(broken)
    assert caught.value.field == "area.policies[1].contribution_base"


def test_a_policy_with_a_rate_above_one_is_refused_naming_the_rate(
    policies: list[dict[str, Any]],
) -> None:
    broken = _broken(policies, lambda p: p["employee"].update(employee_rate=1.5))
    with pytest.raises(InvalidInput, match="between 0 and 1") as caught:
        schedule_from_list(broken)
    assert caught.value.field.endswith("employee_rate")


def test_an_age_band_rate_above_one_is_refused(policies: list[dict[str, Any]]) -> None:
    def change(policy: dict[str, Any]) -> None:
        policy["employee"]["account"]["employer_share_by_age"] = [{"below": 200, "rate": 1.5}]

    with pytest.raises(InvalidInput, match="between 0 and 1") as caught:
        schedule_from_list(_broken(policies, change))
    assert caught.value.field == "area.policies[1].age_band.rate"


def test_age_bands_out_of_order_are_refused(policies: list[dict[str, Any]]) -> None:
    def change(policy: dict[str, Any]) -> None:
        policy["employee"]["account"]["employer_share_by_age"] = [
            {"below": 45, "rate": 0.01},
            {"below": 35, "rate": 0.008},
        ]

    with pytest.raises(InvalidInput, match="rising") as caught:
        schedule_from_list(_broken(policies, change))
    assert caught.value.field == "area.policies[1].employer_share_by_age"


def test_a_policy_with_a_floor_of_three_decimals_is_refused(
    policies: list[dict[str, Any]],
) -> None:
    too_exact = {"floor": "4000.005", "ceiling": 20000}
    broken = _broken(policies, lambda p: p.update(contribution_base=too_exact))
    with pytest.raises(InvalidInput, match="more than two decimals") as caught:
        schedule_from_list(broken)
    assert caught.value.field == "area.policies[1].floor"


def test_a_policy_with_a_month_that_does_not_exist_is_refused(
    policies: list[dict[str, Any]],
) -> None:
    with pytest.raises(InvalidInput) as caught:
        schedule_from_list(_broken(policies, lambda p: p.update({"from": "2023-13"})))
    assert caught.value.field == "area.policies[1].from"


def test_two_policies_from_the_same_month_are_refused(policies: list[dict[str, Any]]) -> None:
    with pytest.raises(InvalidInput, match="distinct"):
        schedule_from_list([policies[0], copy.deepcopy(policies[0])])


def test_an_empty_policy_list_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        schedule_from_list([])
    assert caught.value.field == "area.policies"


def test_a_policy_block_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(InvalidInput, match="must be a mapping"):
        policy_from_dict("2015-01")  # type: ignore[arg-type]
