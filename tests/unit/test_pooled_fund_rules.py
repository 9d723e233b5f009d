"""What the pooled fund pays of a bill (FORMAT.md, The pooled fund): pure rules at every edge."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.domain.errors import InvalidInput
from yibao.domain.national_codes import national_codes
from yibao.domain.pooled import (
    NOTHING,
    FundTerms,
    Visit,
    YearToDate,
    fund_share,
    parse_level,
    parse_visit,
    pooled_from_dict,
    terms_for,
)
from yibao.domain.schemes import Scheme
from yibao.domain.settlement import split_bill

POOLED = {
    "employee": {
        "outpatient": {
            "deductible": 200,
            "ratio": {"1": 0.70, "2": 0.60, "3": 0.50},
            "annual_cap": 2000,
        },
        "inpatient": {
            "deductible": {"1": 300, "2": 600, "3": 900},
            "ratio": {"1": 0.92, "2": 0.88, "3": 0.85},
            "annual_cap": 300000,
        },
        "retiree_ratio_bonus": 0.05,
    },
    "resident": {
        "outpatient": {"deductible": 0, "ratio": 0.50, "annual_cap": 400},
        "inpatient": {
            "deductible": {"1": 200, "2": 500, "3": 800},
            "ratio": {"1": 0.85, "2": 0.75, "3": 0.65},
            "annual_cap": 150000,
        },
    },
}
POLICY = pooled_from_dict(POOLED, path="pooled")


def terms(scheme: Scheme | None, visit: Visit, level: int, paid: bool = True) -> FundTerms:
    return terms_for(POLICY, scheme=scheme, visit=visit, level=level, resident_year_paid=paid)


def fund(t: FundTerms, eligible: int, deductible_used: int = 0, cap_used: int = 0) -> int:
    usage = YearToDate(outpatient_eligible_fen=deductible_used, fund_paid_fen=cap_used)
    return fund_share(t, eligible_fen=eligible, usage=usage).fund_fen


def test_an_inpatient_stay_pays_the_ratio_above_the_level_s_deductible() -> None:
    # 07: eligible 9000 at a level-3 hospital: (9000 - 900) x 0.85
    t = terms(Scheme.EMPLOYEE, Visit.INPATIENT, 3)
    share = fund_share(t, eligible_fen=900_000, usage=YearToDate())
    assert (share.fund_fen, share.deductible_fen) == (688_500, 90_000)


def test_the_year_s_first_outpatient_bills_are_the_deductible() -> None:
    t = terms(Scheme.EMPLOYEE, Visit.OUTPATIENT, 2)
    assert fund(t, 30_000) == 6_000  # (300 - 200) x 0.60


def test_the_deductible_is_reached_inside_one_bill() -> None:
    t = terms(Scheme.EMPLOYEE, Visit.OUTPATIENT, 1)
    assert fund(t, 20_000) == 0  # exactly the deductible: nothing above it
    assert fund(t, 20_001) == 1  # 0.01 above it: 0.70 fen, half up to 1
    assert fund(t, 19_999) == 0


def test_the_deductible_is_used_up_across_bills_of_the_year() -> None:
    t = terms(Scheme.EMPLOYEE, Visit.OUTPATIENT, 1)
    assert fund(t, 10_000, deductible_used=15_000) == 3_500  # 50 left; 50 x 0.70
    assert fund(t, 10_000, deductible_used=20_000) == 7_000  # used up: all of it at 0.70
    assert fund(t, 10_000, deductible_used=90_000) == 7_000


def test_an_inpatient_deductible_applies_to_each_admission_whatever_the_year_used() -> None:
    t = terms(Scheme.EMPLOYEE, Visit.INPATIENT, 1)
    assert fund(t, 100_000, deductible_used=10**9) == round(Decimal("0.92") * 70_000)


def test_the_ratio_depends_on_the_institution_s_level() -> None:
    eligible = 100_000
    got = [
        fund(terms(Scheme.EMPLOYEE, Visit.OUTPATIENT, lvl), eligible, 20_000) for lvl in (1, 2, 3)
    ]
    assert got == [70_000, 60_000, 50_000]


def test_the_annual_cap_is_reached_inside_one_bill() -> None:
    t = terms(Scheme.EMPLOYEE, Visit.OUTPATIENT, 1)
    assert fund(t, 10_000_000, deductible_used=20_000) == 200_000  # cap 2000 yuan
    assert fund(t, 10_000_000, deductible_used=20_000, cap_used=199_999) == 1
    assert fund(t, 10_000_000, deductible_used=20_000, cap_used=200_000) == 0
    assert fund(t, 10_000, deductible_used=20_000, cap_used=250_000) == 0  # never negative


def test_a_retiree_s_ratio_is_raised_by_the_bonus_but_never_above_one() -> None:
    assert terms(Scheme.RETIREE, Visit.INPATIENT, 1).ratio == Decimal("0.97")
    generous = pooled_from_dict(
        {"employee": {**POOLED["employee"], "retiree_ratio_bonus": 0.2}}, path="pooled"
    )
    t = terms_for(
        generous, scheme=Scheme.RETIREE, visit=Visit.INPATIENT, level=1, resident_year_paid=True
    )
    assert t.ratio == 1
    assert fund(t, 100_000) == 70_000  # all of it above the 300 deductible
    assert terms(Scheme.EMPLOYEE, Visit.INPATIENT, 1).ratio == Decimal("0.92")


def test_a_resident_without_the_year_s_contribution_gets_nothing_from_the_fund() -> None:
    assert terms(Scheme.RESIDENT, Visit.INPATIENT, 1, paid=False) == NOTHING
    assert terms(Scheme.RESIDENT, Visit.INPATIENT, 1, paid=True).ratio == Decimal("0.85")
    assert fund(terms(Scheme.RESIDENT, Visit.OUTPATIENT, 1), 10_000) == 5_000


def test_a_pooled_only_member_s_outpatient_visit_gets_nothing_but_a_stay_is_paid() -> None:
    assert terms(Scheme.POOLED_ONLY, Visit.OUTPATIENT, 1) == NOTHING
    assert fund(terms(Scheme.POOLED_ONLY, Visit.INPATIENT, 1), 130_000) == 92_000


def test_nothing_for_a_pharmacy_for_no_scheme_or_without_the_block() -> None:
    assert terms(Scheme.EMPLOYEE, Visit.PHARMACY, 1) == NOTHING
    assert terms(None, Visit.INPATIENT, 3) == NOTHING
    empty = pooled_from_dict(None, path="pooled")
    assert (
        terms_for(
            empty, scheme=Scheme.EMPLOYEE, visit=Visit.INPATIENT, level=1, resident_year_paid=True
        )
        == NOTHING
    )
    flexible = terms(Scheme.FLEXIBLE, Visit.INPATIENT, 2)  # the employee scheme's rules
    assert flexible.ratio == Decimal("0.88")


def test_the_fund_s_share_is_rounded_half_up_to_the_fen() -> None:
    t = FundTerms(Visit.INPATIENT, 0, Decimal("0.85"), 10**12)
    assert fund(t, 10) == 9  # 8.5 -> 9
    assert fund(t, 30) == 26  # 25.5 -> 26
    assert fund(t, 1) == 1  # 0.85 -> 1
    t = FundTerms(Visit.INPATIENT, 0, Decimal("0.65"), 10**12)
    assert fund(t, 1) == 1  # 0.65 -> 1
    assert fund(FundTerms(Visit.INPATIENT, 0, Decimal("0.25"), 10**12), 2) == 1  # 0.5 -> 1
    assert fund(FundTerms(Visit.INPATIENT, 0, Decimal("0.2"), 10**12), 2) == 0  # 0.4 -> 0


RATIO = st.decimals(min_value=0, max_value=1, places=3)


@given(
    visit=st.sampled_from([Visit.OUTPATIENT, Visit.INPATIENT]),
    deductible=st.integers(0, 10**6),
    ratio=RATIO,
    cap=st.integers(0, 10**8),
    eligible=st.integers(0, 10**9),
    extra=st.integers(0, 10**6),
    used=st.integers(0, 10**7),
    cap_used=st.integers(0, 10**8),
    balance=st.integers(-(10**6), 10**8),
)
def test_the_fund_never_pays_above_its_ratio_its_cap_left_or_the_bill(
    visit: Visit,
    deductible: int,
    ratio: Decimal,
    cap: int,
    eligible: int,
    extra: int,
    used: int,
    cap_used: int,
    balance: int,
) -> None:
    t = FundTerms(visit, deductible, ratio, cap)
    share = fund_share(
        t,
        eligible_fen=eligible,
        usage=YearToDate(outpatient_eligible_fen=used, fund_paid_fen=cap_used),
    )
    assert 0 <= share.fund_fen <= max(cap - cap_used, 0)
    assert share.fund_fen <= eligible
    assert share.fund_fen <= ratio * (eligible - share.deductible_fen) + Decimal("0.5")
    assert 0 <= share.deductible_fen <= min(deductible, eligible)
    split = split_bill(
        total=eligible + extra, eligible=eligible, fund=share.fund_fen, balance=balance
    )
    assert split.fund_fen + split.account_fen + split.cash_fen == eligible + extra
    assert split.cash_fen >= extra  # out-of-catalogue items are the person's alone
    assert 0 <= split.account_fen <= max(balance, 0)


def test_the_07_bill_splits_into_its_three_parts() -> None:
    split = split_bill(total=1_000_000, eligible=900_000, fund=688_500, balance=48_000)
    assert (split.fund_fen, split.account_fen, split.cash_fen) == (688_500, 48_000, 263_500)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"employee": {"inpatient": {"deductible": 1, "ratio": 1.2, "annual_cap": 1}}},
         "pooled.employee.inpatient.ratio"),
        ({"employee": {"inpatient": {"deductible": 1, "ratio": {"1": 0.5, "2": 0.5},
                                      "annual_cap": 1}}}, "pooled.employee.inpatient.ratio"),
        ({"employee": {"inpatient": {"deductible": -1, "ratio": 0.5, "annual_cap": 1}}},
         "pooled.employee.inpatient.deductible"),
        ({"employee": {"inpatient": {"deductible": 1, "ratio": 0.5}}},
         "pooled.employee.inpatient.annual_cap"),
        ({"employee": {"inpatient": {"deductible": 1.001, "ratio": 0.5, "annual_cap": 1}}},
         "pooled.employee.inpatient.deductible"),
        ({"employee": {"dental": {}}}, "pooled.employee"),
        ({"retiree": {}}, "pooled"),
        ({"employee": {"retiree_ratio_bonus": 2}}, "pooled.employee.retiree_ratio_bonus"),
        ("lots", "pooled"),
    ],
)  # fmt: skip
def test_a_malformed_pooled_block_is_refused_naming_its_field(raw: object, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        pooled_from_dict(raw, path="pooled")
    assert refused.value.field == field


def test_visits_and_levels_are_read_strictly() -> None:
    assert parse_visit("inpatient") is Visit.INPATIENT
    assert parse_level("3") == 3
    with pytest.raises(InvalidInput):
        parse_visit("dental")
    for bad in (0, 4, "x", True):
        with pytest.raises(InvalidInput):
            parse_level(bad)


BIRTH = dt.date(1985, 3, 12)


@pytest.mark.parametrize(
    ("scheme", "birth", "visit", "codes"),
    [
        (Scheme.EMPLOYEE, BIRTH, Visit.OUTPATIENT, ("310", "1101", "11", "11")),
        (Scheme.POOLED_ONLY, BIRTH, Visit.INPATIENT, ("310", "1101", "21", "21")),
        (Scheme.FLEXIBLE, BIRTH, Visit.PHARMACY, ("310", "1103", "41", "41")),
        (Scheme.RETIREE, dt.date(1950, 1, 1), Visit.INPATIENT, ("310", "1201", "21", "21")),
        (Scheme.RESIDENT, BIRTH, Visit.OUTPATIENT, ("390", "1501", "11", "11")),
        (Scheme.RESIDENT, dt.date(2010, 6, 2), Visit.OUTPATIENT, ("390", "1401", "11", "11")),
        (None, BIRTH, Visit.PHARMACY, (None, None, "41", "41")),
    ],
)
def test_the_national_codes_follow_from_scheme_person_and_visit(
    scheme: Scheme | None, birth: dt.date, visit: Visit, codes: tuple[str | None, ...]
) -> None:
    got = national_codes(scheme=scheme, birth_date=birth, visit=visit, on=dt.date(2024, 6, 1))
    assert (got.insutype, got.psn_type, got.med_type, got.clr_type) == codes


def test_a_resident_is_an_adult_from_the_eighteenth_birthday() -> None:
    born = dt.date(2006, 6, 2)

    def psn(day: dt.date) -> str | None:
        return national_codes(
            scheme=Scheme.RESIDENT, birth_date=born, visit=Visit.INPATIENT, on=day
        ).psn_type

    assert psn(dt.date(2024, 6, 1)) == "1401"
    assert psn(dt.date(2024, 6, 2)) == "1501"
