"""What one contribution credits to the personal account (FORMAT.md, "Crediting rules")."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import yaml

from tests.scenario_files import EXAMPLES
from yibao.domain.crediting import (
    MedicalContribution,
    PricedPayment,
    contribution_amounts,
    credit_for,
    price_payment,
)
from yibao.domain.errors import InvalidInput
from yibao.domain.months import Month
from yibao.domain.policy import Policy, PolicySchedule, policy_from_dict, schedule_from_list
from yibao.domain.schemes import Scheme

SCENARIO_01 = EXAMPLES / "01_medical_left_out.yaml"
YUAN = 100  # fen


@pytest.fixture(scope="module")
def schedule() -> PolicySchedule:
    """Example City: 2015-01 with employer share by age band, 2023-01 reform without it."""
    document = yaml.safe_load(SCENARIO_01.read_text(encoding="utf-8"))
    return schedule_from_list(document["area"]["policies"])


def _employee_credit(schedule: PolicySchedule, month: Month, base_fen: int, born: dt.date) -> int:
    contribution = MedicalContribution(month, Scheme.EMPLOYEE, base_fen)
    return credit_for(contribution, schedule.for_month(month), born)


def _policy(**changes: Any) -> Policy:
    """A one-off policy with a low floor, for amounts the example city's floor would clamp."""
    raw: dict[str, Any] = {
        "from": "2015-01",
        "contribution_base": {"floor": 1000, "ceiling": 30000},
        "employee": {
            "employer_rate": 0.08,
            "employee_rate": 0.02,
            "account": {"employee_share": 1.0, "employer_share_by_age": []},
        },
        "flexible": {"tiers": [{"code": "full", "rate": 0.10, "account_rate": 0.02}]},
    }
    raw.update(changes)
    return policy_from_dict(raw)


# -- age on the first day of the contribution's month ---------------------------------------
def test_someone_turning_35_mid_month_is_still_34_for_that_month(
    schedule: PolicySchedule,
) -> None:
    born = dt.date(1980, 3, 15)
    # 10,000 yuan: 2% own contribution + 0.8% (the under-35 band)
    assert _employee_credit(schedule, Month(2015, 3), 10_000 * YUAN, born) == 280 * YUAN


def test_someone_who_turned_35_last_month_is_35_for_this_month(
    schedule: PolicySchedule,
) -> None:
    born = dt.date(1980, 3, 15)
    # 2% own contribution + 1.0% (the 35-44 band)
    assert _employee_credit(schedule, Month(2015, 4), 10_000 * YUAN, born) == 300 * YUAN


def test_a_birthday_on_the_first_of_the_month_counts_for_that_month(
    schedule: PolicySchedule,
) -> None:
    born = dt.date(1980, 4, 1)
    assert _employee_credit(schedule, Month(2015, 3), 10_000 * YUAN, born) == 280 * YUAN
    assert _employee_credit(schedule, Month(2015, 4), 10_000 * YUAN, born) == 300 * YUAN


def test_from_45_the_highest_band_applies(schedule: PolicySchedule) -> None:
    born = dt.date(1970, 6, 1)
    assert _employee_credit(schedule, Month(2015, 5), 10_000 * YUAN, born) == 300 * YUAN
    assert _employee_credit(schedule, Month(2015, 6), 10_000 * YUAN, born) == 400 * YUAN


def test_someone_born_on_29_february_reaches_the_next_band_in_march_of_a_common_year(
    schedule: PolicySchedule,
) -> None:
    born = dt.date(1980, 2, 29)
    # 2015 is a common year: on 1 February still 34; on 1 March 35
    assert _employee_credit(schedule, Month(2015, 2), 10_000 * YUAN, born) == 280 * YUAN
    assert _employee_credit(schedule, Month(2015, 3), 10_000 * YUAN, born) == 300 * YUAN


# -- base clamped to the policy of the contribution's month ---------------------------------
def test_a_base_below_the_floor_is_credited_as_the_floor(schedule: PolicySchedule) -> None:
    born = dt.date(1990, 3, 7)
    # floor 4,000 yuan: 80.00 + 32.00
    assert _employee_credit(schedule, Month(2016, 5), 1_000 * YUAN, born) == 112 * YUAN


def test_a_base_above_the_ceiling_is_credited_as_the_ceiling(schedule: PolicySchedule) -> None:
    born = dt.date(1990, 3, 7)
    # ceiling 20,000 yuan: 400.00 + 160.00
    assert _employee_credit(schedule, Month(2016, 5), 50_000 * YUAN, born) == 560 * YUAN


def test_the_floor_and_ceiling_are_those_of_the_contributions_own_month(
    schedule: PolicySchedule,
) -> None:
    born = dt.date(1990, 3, 7)
    # 2023 reform policy: floor 4,200 yuan, ceiling 21,000 yuan, 2% only
    assert _employee_credit(schedule, Month(2023, 5), 1_000 * YUAN, born) == 84 * YUAN
    assert _employee_credit(schedule, Month(2023, 5), 50_000 * YUAN, born) == 420 * YUAN


# -- the reform month -----------------------------------------------------------------------
def test_the_month_before_the_reform_credits_the_employer_share(
    schedule: PolicySchedule,
) -> None:
    born = dt.date(1990, 3, 7)  # 32 on 1 December 2022
    assert _employee_credit(schedule, Month(2022, 12), 6_000 * YUAN, born) == 168 * YUAN


def test_from_the_reform_month_only_the_employees_own_two_percent_is_credited(
    schedule: PolicySchedule,
) -> None:
    for born in (dt.date(1990, 3, 7), dt.date(1960, 1, 1)):
        assert _employee_credit(schedule, Month(2023, 1), 6_000 * YUAN, born) == 120 * YUAN


# -- rounding -------------------------------------------------------------------------------
def test_an_exact_credit_ending_in_half_a_fen_is_rounded_up() -> None:
    contribution = MedicalContribution(Month(2016, 1), Scheme.EMPLOYEE, 400_025)  # 4000.25 yuan
    # 400,025 x 2% = 8,000.5 fen
    assert credit_for(contribution, _policy(), dt.date(1990, 3, 7)) == 8001


def test_a_credit_is_rounded_once_not_part_by_part(schedule: PolicySchedule) -> None:
    born = dt.date(1960, 1, 1)  # band of 45 and over: 2%
    # 400,025 x 2% + 400,025 x 2% = 8,000.5 + 8,000.5 = 16,001 (rounding each part: 16,002)
    assert _employee_credit(schedule, Month(2016, 1), 400_025, born) == 16_001


def test_a_credit_just_below_half_a_fen_is_rounded_down() -> None:
    contribution = MedicalContribution(Month(2016, 1), Scheme.EMPLOYEE, 400_024)
    # 400,024 x 2% = 8,000.48 fen
    assert credit_for(contribution, _policy(), dt.date(1990, 3, 7)) == 8000


def test_only_the_share_of_the_employees_contribution_is_credited() -> None:
    policy = _policy(
        employee={
            "employer_rate": 0.08,
            "employee_rate": 0.02,
            "account": {"employee_share": 0.5, "employer_share_by_age": []},
        }
    )
    contribution = MedicalContribution(Month(2016, 1), Scheme.EMPLOYEE, 500_000)
    assert credit_for(contribution, policy, dt.date(1990, 3, 7)) == 50 * YUAN


# -- other schemes --------------------------------------------------------------------------
def test_the_flexible_basic_tier_credits_nothing(schedule: PolicySchedule) -> None:
    contribution = MedicalContribution(Month(2024, 1), Scheme.FLEXIBLE, 500_000, "basic")
    assert credit_for(contribution, schedule.for_month(Month(2024, 1)), dt.date(1990, 3, 7)) == 0


def test_the_flexible_full_tier_credits_two_percent_of_the_base_whatever_the_age(
    schedule: PolicySchedule,
) -> None:
    contribution = MedicalContribution(Month(2016, 1), Scheme.FLEXIBLE, 500_000, "full")
    policy = schedule.for_month(Month(2016, 1))
    for born in (dt.date(1990, 3, 7), dt.date(1960, 1, 1)):
        assert credit_for(contribution, policy, born) == 100 * YUAN


def test_a_flexible_credit_ending_in_half_a_fen_is_rounded_up() -> None:
    contribution = MedicalContribution(Month(2016, 1), Scheme.FLEXIBLE, 400_025, "full")
    assert credit_for(contribution, _policy(), dt.date(1990, 3, 7)) == 8001


def test_a_flexible_base_is_clamped_too(schedule: PolicySchedule) -> None:
    contribution = MedicalContribution(Month(2024, 1), Scheme.FLEXIBLE, 100_000, "full")
    policy = schedule.for_month(Month(2024, 1))
    # floor 4,200 yuan x 2%
    assert credit_for(contribution, policy, dt.date(1990, 3, 7)) == 84 * YUAN


def test_an_unknown_flexible_tier_is_refused(schedule: PolicySchedule) -> None:
    contribution = MedicalContribution(Month(2024, 1), Scheme.FLEXIBLE, 500_000, "gold")
    with pytest.raises(InvalidInput):
        credit_for(contribution, schedule.for_month(Month(2024, 1)), dt.date(1990, 3, 7))


@pytest.mark.parametrize("scheme", [Scheme.RESIDENT, Scheme.RETIREE])
def test_residents_and_retirees_earn_no_credit_from_a_contribution(
    schedule: PolicySchedule, scheme: Scheme
) -> None:
    contribution = MedicalContribution(Month(2016, 1), scheme, 500_000)
    assert credit_for(contribution, schedule.for_month(Month(2016, 1)), dt.date(1960, 1, 1)) == 0


# -- what is paid ---------------------------------------------------------------------------
def test_an_employees_contribution_is_eight_percent_from_the_employer_and_two_from_them(
    schedule: PolicySchedule,
) -> None:
    policy = schedule.for_month(Month(2024, 1))
    assert contribution_amounts(policy, Scheme.EMPLOYEE, 600_000, None) == (48_000, 12_000)


def test_the_amounts_paid_use_the_clamped_base(schedule: PolicySchedule) -> None:
    policy = schedule.for_month(Month(2024, 1))  # floor 4,200, ceiling 21,000 yuan
    assert contribution_amounts(policy, Scheme.EMPLOYEE, 100_000, None) == (33_600, 8_400)
    assert contribution_amounts(policy, Scheme.EMPLOYEE, 5_000_000, None) == (168_000, 42_000)


def test_the_amounts_paid_are_rounded_half_up_to_the_fen() -> None:
    # 400,025 x 8% = 32,002 exactly; 400,025 x 2% = 8,000.5
    assert contribution_amounts(_policy(), Scheme.EMPLOYEE, 400_025, None) == (32_002, 8_001)


def test_a_flexible_worker_pays_the_tier_rate_alone(schedule: PolicySchedule) -> None:
    policy = schedule.for_month(Month(2024, 1))
    assert contribution_amounts(policy, Scheme.FLEXIBLE, 500_000, "basic") == (0, 20_000)
    assert contribution_amounts(policy, Scheme.FLEXIBLE, 500_000, "full") == (0, 50_000)


def test_a_resident_pays_the_annual_amount_of_the_policy(schedule: PolicySchedule) -> None:
    before, after = schedule.for_month(Month(2022, 1)), schedule.for_month(Month(2024, 1))
    assert contribution_amounts(before, Scheme.RESIDENT, 0, None) == (0, 380 * YUAN)
    assert contribution_amounts(after, Scheme.RESIDENT, 0, None) == (0, 400 * YUAN)


def test_a_retiree_pays_nothing(schedule: PolicySchedule) -> None:
    policy = schedule.for_month(Month(2024, 1))
    assert contribution_amounts(policy, Scheme.RETIREE, 500_000, None) == (0, 0)


# -- one pricing rule for the service and the demo loader -----------------------------------
def _priced(schedule: PolicySchedule, scheme: Scheme, insurances: tuple[str, ...]) -> PricedPayment:
    month = Month.parse("2022-06")
    return price_payment(
        policy=schedule.for_month(month),
        month=month,
        scheme=scheme,
        tier=None,
        base_fen=30_000 * YUAN,  # above the ceiling of 20,000 yuan
        insurances=insurances,
        birth_date=dt.date(1980, 4, 1),
    )


def test_a_payment_is_priced_on_its_clamped_base_with_the_credit_of_its_month(
    schedule: PolicySchedule,
) -> None:
    priced = _priced(schedule, Scheme.EMPLOYEE, ("pension", "medical"))
    # base 20,000: employer 8% = 1,600; employee 2% = 400; credit 400 + 1.0% of the base (age 42)
    assert priced == PricedPayment(20_000 * YUAN, 1_600 * YUAN, 400 * YUAN, 600 * YUAN)


@pytest.mark.parametrize(
    ("scheme", "insurances", "base_fen"),
    [
        (Scheme.EMPLOYEE, ("pension",), 20_000 * YUAN),  # medical left out: nothing to the fund
        (Scheme.RETIREE, ("medical",), 20_000 * YUAN),  # retirees pay nothing
        (Scheme.RESIDENT, ("pension",), None),  # a resident has no wage base
    ],
)
def test_a_payment_without_medical_or_by_a_retiree_moves_nothing_into_the_medical_book(
    schedule: PolicySchedule, scheme: Scheme, insurances: tuple[str, ...], base_fen: int | None
) -> None:
    assert _priced(schedule, scheme, insurances) == PricedPayment(base_fen, 0, 0, 0)
