"""The explainer's findings (FORMAT.md, "Findings"): each present exactly when its condition holds.

Built from plain `PersonRecords` values: `records()` is an employee, registered on the day of
hiring, paid with medical insurance through the month before `AS_OF` and credited, with an
active card and nothing spent. It has no finding at all; each test changes only what matters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from yibao.domain.explain import (
    FINANCIAL_CHANNELS,
    RULES,
    CardRecord,
    Explanation,
    Finding,
    JobRecord,
    PaymentRecord,
    PersonRecords,
    explain,
)
from yibao.domain.months import Month
from yibao.domain.schemes import INSURANCE_TYPES, Scheme

PERSON = "420102199003071232"
AS_OF = dt.date(2024, 6, 15)
HIRED = dt.date(2024, 1, 2)
ALL_FIVE = frozenset(INSURANCE_TYPES)
WITHOUT_MEDICAL = frozenset({"pension", "unemployment", "injury"})
CHANNELS = ("web", "hotline", "pos", "terminal", "bank_counter", "atm")

FORMAT_CODES = (
    "financial_account_queried",
    "no_personal_account_resident",
    "no_personal_account_flexible_tier",
    "medical_not_paid",
    "not_registered",
    "late_registration",
    "contributions_stopped",
    "crediting_pending",
    "card_not_activated",
    "card_reported_lost",
    "balance_spent",
    "family_spending",
    "reform_employer_share_not_credited",
    "retiree_fixed_credit",
    "no_records",
)
# Codes the domain added beyond FORMAT.md's table, each tested once its field or scheme exists.
POOLED_ONLY: Scheme | None = Scheme.__members__.get("POOLED_ONLY")
HAS_SPLIT_RECORDS = "split_records" in {f.name for f in dataclasses.fields(PersonRecords)}
EXTRA_CODES = (
    (("no_personal_account_pooled_only",) if POOLED_ONLY else ())
    + (("records_split",) if HAS_SPLIT_RECORDS else ())
    + ("pooled_fund_paid",)
)
ALL_CODES = FORMAT_CODES + EXTRA_CODES
# codes whose finding must cite the law (FORMAT.md: "where one applies the legal_basis")
CITES_LAW = ("medical_not_paid", "not_registered", "late_registration")
needs_pooled_only = pytest.mark.skipif(POOLED_ONLY is None, reason="no pooled-only scheme yet")
needs_split_records = pytest.mark.skipif(not HAS_SPLIT_RECORDS, reason="no split_records yet")


# -- builders -------------------------------------------------------------------------------
def job(
    hired: dt.date = HIRED,
    registered: dt.date | None = HIRED,
    left: dt.date | None = None,
    employer: str = "E001",
) -> JobRecord:
    return JobRecord(employer, f"Employer {employer}", hired, registered, left)


def payment(
    month: str,
    *,
    through: str | None = None,
    received: dt.date | None = None,
    insurances: frozenset[str] = ALL_FIVE,
    credit_fen: int | None = None,
    credited_on: dt.date | str | None = "month end",
) -> PaymentRecord:
    """A payment for `month`, received on the 15th of it, credited at its month end.

    Without medical insurance it earns no credit and is never credited.
    """
    first = Month.parse(month)
    received_on = received or dt.date(first.year, first.month, 15)
    medical = "medical" in insurances
    if credit_fen is None:
        credit_fen = 12_000 if medical else 0
    if credited_on == "month end":
        credited_on = Month.of(received_on).last_day if credit_fen > 0 else None
    assert not isinstance(credited_on, str)
    return PaymentRecord(
        first,
        Month.parse(through) if through else first,
        received_on,
        insurances,
        credit_fen,
        credited_on,
    )


def monthly(first: str, last: str, **kwargs: Any) -> tuple[PaymentRecord, ...]:
    """One payment per month from `first` to `last`, inclusive."""
    start, end = Month.parse(first), Month.parse(last)
    return tuple(
        payment(str(Month.from_index(i)), **kwargs) for i in range(start.index, end.index + 1)
    )


def card(status: str = "active") -> CardRecord:
    return CardRecord("A10000001", status, dt.date(2024, 2, 1))


def records(**changes: Any) -> PersonRecords:
    """A well-paid, registered employee with no finding; `changes` replace fields."""
    base = PersonRecords(
        id_number=PERSON,
        as_of=AS_OF,
        channel="web",
        medical_fen=60_000,
        financial_fen=0,
        scheme=Scheme.EMPLOYEE,
        tier=None,
        tier_account_rate_zero=False,
        policy_credits_employer_share=True,
        earlier_policy_credited_employer_share=False,
        retiree_monthly_fen=0,
        ever_enrolled=True,
        jobs=(job(),),
        payments=monthly("2024-01", "2024-05"),
        card=card(),
        spent_fen=0,
        family_spent_fen=0,
        credited_fen=60_000,
    )
    return dataclasses.replace(base, **changes)


def retiree(**changes: Any) -> PersonRecords:
    defaults: dict[str, Any] = dict(
        scheme=Scheme.RETIREE,
        retiree_monthly_fen=8_000,
        policy_credits_employer_share=False,
        jobs=(),
        payments=(),
    )
    return records(**{**defaults, **changes})


NOTHING: dict[str, Any] = dict(scheme=None, ever_enrolled=False, jobs=(), payments=(), card=None)


def codes(r: PersonRecords) -> list[str]:
    return explain(r).codes


def finding(r: PersonRecords, code: str) -> Finding:
    found = [f for f in explain(r).findings if f.code == code]
    assert len(found) == 1, f"{code} not found once in {codes(r)}"
    return found[0]


# one set of records per code that makes that finding hold
TRIGGERS: dict[str, PersonRecords] = {
    "financial_account_queried": records(channel="atm", financial_fen=1_234),
    "no_personal_account_resident": records(
        scheme=Scheme.RESIDENT,
        jobs=(),
        payments=(payment("2024-01", through="2024-12", credit_fen=0),),
    ),
    "no_personal_account_flexible_tier": records(
        scheme=Scheme.FLEXIBLE, tier="basic", tier_account_rate_zero=True, jobs=()
    ),
    "medical_not_paid": records(
        payments=(
            *monthly("2024-01", "2024-03", insurances=WITHOUT_MEDICAL),
            *monthly("2024-04", "2024-05"),
        )
    ),
    "not_registered": records(jobs=(job(registered=None),), payments=()),
    "late_registration": records(jobs=(job(registered=HIRED + dt.timedelta(days=40)),)),
    "contributions_stopped": records(payments=monthly("2024-01", "2024-03")),
    "crediting_pending": records(
        payments=(*monthly("2024-01", "2024-04"), payment("2024-05", credited_on=None))
    ),
    "card_not_activated": records(card=card("issued")),
    "card_reported_lost": records(card=card("lost")),
    "balance_spent": records(spent_fen=5_000, medical_fen=55_000),
    "family_spending": records(spent_fen=5_000, family_spent_fen=2_000, medical_fen=55_000),
    "reform_employer_share_not_credited": records(
        policy_credits_employer_share=False, earlier_policy_credited_employer_share=True
    ),
    "retiree_fixed_credit": retiree(),
    "no_records": records(
        scheme=None,
        ever_enrolled=False,
        jobs=(),
        payments=(),
        card=None,
        medical_fen=0,
        credited_fen=0,
    ),
}
if POOLED_ONLY is not None:
    TRIGGERS["no_personal_account_pooled_only"] = records(
        scheme=POOLED_ONLY, policy_credits_employer_share=False, medical_fen=0, credited_fen=0
    )
TRIGGERS["pooled_fund_paid"] = records(fund_paid_fen=688_500, fund_bills=1)
if HAS_SPLIT_RECORDS:
    SPLIT = ("4201**********1236 (area 420100): balance 80.00 yuan, 3 contributions",)
    TRIGGERS["records_split"] = records(split_records=SPLIT)


# -- the baseline and the catalogue --------------------------------------------------------
def test_the_baseline_records_have_no_finding() -> None:
    explanation = explain(records())
    assert explanation.codes == []
    assert explanation.shows == "medical"
    assert explanation.shown_fen == 60_000


def test_every_rule_has_a_trigger_and_every_format_code_a_rule() -> None:
    assert set(TRIGGERS) == set(ALL_CODES)
    assert len(RULES) == len(ALL_CODES)
    fired_by_rule = {
        rule.__name__: {f.code for r in TRIGGERS.values() if (f := rule(r)) is not None}
        for rule in RULES
    }
    assert all(len(fired) == 1 for fired in fired_by_rule.values()), fired_by_rule
    assert set().union(*fired_by_rule.values()) == set(ALL_CODES)


@pytest.mark.parametrize("code", ALL_CODES)
def test_each_trigger_makes_its_finding_hold(code: str) -> None:
    assert code in codes(TRIGGERS[code])


@pytest.mark.parametrize("code", ALL_CODES)
def test_findings_are_explained_in_full(code: str) -> None:
    f = finding(TRIGGERS[code], code)
    assert f.summary.strip()
    assert f.summary_zh.strip()
    assert f.next_step.strip()
    assert f.evidence
    assert all(isinstance(line, str) and line.strip() for line in f.evidence)
    if code in CITES_LAW:
        assert f.legal_basis
        assert "Social Insurance Law" in f.legal_basis
    if f.legal_basis is not None:
        assert f.legal_basis.strip()


@pytest.mark.parametrize("code", ALL_CODES)
def test_no_code_is_listed_twice(code: str) -> None:
    listed = codes(TRIGGERS[code])
    assert len(listed) == len(set(listed))


# -- financial_account_queried -------------------------------------------------------------
@pytest.mark.parametrize("channel", CHANNELS)
def test_financial_account_queried_only_for_the_atm(channel: str) -> None:
    explanation = explain(records(channel=channel, medical_fen=60_000, financial_fen=1_234))
    if channel == "atm":
        assert "financial_account_queried" in explanation.codes
        assert explanation.shows == "financial"
        assert explanation.shown_fen == 1_234
    else:
        assert "financial_account_queried" not in explanation.codes
        assert explanation.shows == "medical"
        assert explanation.shown_fen == 60_000


def test_financial_channels_are_the_atm_alone() -> None:
    assert frozenset({"atm"}) == FINANCIAL_CHANNELS


def test_atm_shows_the_financial_balance_even_when_it_is_zero() -> None:
    explanation = explain(records(channel="atm", medical_fen=60_000, financial_fen=0))
    assert explanation.shown_fen == 0
    evidence = finding(records(channel="atm", financial_fen=0), "financial_account_queried")
    assert any("0.00" in line for line in evidence.evidence)
    assert any("600.00" in line for line in evidence.evidence)


def test_financial_account_queried_comes_first() -> None:
    busy = records(
        channel="atm",
        jobs=(job(registered=HIRED + dt.timedelta(days=45)),),
        payments=(
            payment("2024-01", insurances=WITHOUT_MEDICAL),
            *monthly("2024-02", "2024-03"),
            payment("2024-04", credited_on=None),
        ),
        card=card("issued"),
        spent_fen=100,
        family_spent_fen=100,
        policy_credits_employer_share=False,
        earlier_policy_credited_employer_share=True,
    )
    listed = codes(busy)
    assert listed[0] == "financial_account_queried"
    assert {
        "late_registration",
        "medical_not_paid",
        "crediting_pending",
        "card_not_activated",
        "balance_spent",
        "family_spending",
        "contributions_stopped",
        "reform_employer_share_not_credited",
    } <= set(listed)


@pytest.mark.parametrize("code", [c for c in ALL_CODES if c != "financial_account_queried"])
def test_financial_account_queried_comes_before_any_other_finding(code: str) -> None:
    listed = codes(dataclasses.replace(TRIGGERS[code], channel="atm"))
    assert listed[0] == "financial_account_queried"
    assert code in listed


# -- schemes without a personal account ----------------------------------------------------
@pytest.mark.parametrize("scheme", [*Scheme, None])
def test_no_personal_account_resident_by_scheme(scheme: Scheme | None) -> None:
    present = "no_personal_account_resident" in codes(records(scheme=scheme))
    assert present is (scheme is Scheme.RESIDENT)


@pytest.mark.parametrize(
    ("scheme", "zero_rate", "present"),
    [
        (Scheme.FLEXIBLE, True, True),
        (Scheme.FLEXIBLE, False, False),
        (Scheme.EMPLOYEE, True, False),
        (Scheme.RESIDENT, True, False),
        (Scheme.RETIREE, True, False),
        (None, True, False),
    ],
)
def test_no_personal_account_flexible_tier_only_with_a_zero_account_rate_tier(
    scheme: Scheme | None, zero_rate: bool, present: bool
) -> None:
    r = records(scheme=scheme, tier="basic", tier_account_rate_zero=zero_rate)
    assert ("no_personal_account_flexible_tier" in codes(r)) is present


def test_no_personal_account_flexible_tier_names_the_tier() -> None:
    f = finding(TRIGGERS["no_personal_account_flexible_tier"], "no_personal_account_flexible_tier")
    assert "basic" in f.summary
    assert "basic" in " ".join(f.evidence)


@needs_pooled_only
@pytest.mark.parametrize("scheme", [*Scheme, None])
def test_no_personal_account_pooled_only_by_scheme(scheme: Scheme | None) -> None:
    present = "no_personal_account_pooled_only" in codes(records(scheme=scheme))
    assert present is (scheme is POOLED_ONLY)


@needs_pooled_only
def test_pooled_only_cover_is_not_explained_by_the_reform() -> None:
    r = records(
        scheme=POOLED_ONLY,
        policy_credits_employer_share=False,
        earlier_policy_credited_employer_share=True,
    )
    assert "no_personal_account_pooled_only" in codes(r)
    assert "reform_employer_share_not_credited" not in codes(r)


# -- records_split -------------------------------------------------------------------------
@needs_split_records
def test_records_split_when_another_record_is_not_merged() -> None:
    f = finding(TRIGGERS["records_split"], "records_split")
    assert f.evidence == TRIGGERS["records_split"].split_records
    assert f.legal_basis


@needs_split_records
def test_records_split_absent_without_other_records() -> None:
    assert "records_split" not in codes(records(split_records=()))


@needs_split_records
def test_records_split_even_with_nothing_else_on_record() -> None:
    split = TRIGGERS["records_split"].split_records
    listed = codes(records(**NOTHING, split_records=split))
    assert "records_split" in listed


# -- medical_not_paid ----------------------------------------------------------------------
def test_medical_not_paid_for_a_month_paid_without_medical() -> None:
    r = records(
        payments=(
            payment("2024-01"),
            payment("2024-02", insurances=WITHOUT_MEDICAL),
            *monthly("2024-03", "2024-05"),
        )
    )
    f = finding(r, "medical_not_paid")
    assert f.evidence == ("2024-02: paid without medical insurance",)


def test_medical_not_paid_whatever_the_balance() -> None:
    r = records(
        medical_fen=10_000_000,
        payments=(payment("2024-02", insurances=WITHOUT_MEDICAL), *monthly("2024-03", "2024-05")),
    )
    assert "medical_not_paid" in codes(r)


def test_medical_not_paid_absent_when_a_back_payment_later_covers_the_month() -> None:
    r = records(
        payments=(
            payment("2024-01"),
            payment("2024-02", insurances=WITHOUT_MEDICAL),
            *monthly("2024-03", "2024-05"),
            payment("2024-02", received=dt.date(2024, 5, 20), insurances=frozenset({"medical"})),
        )
    )
    assert "medical_not_paid" not in codes(r)


def test_medical_not_paid_remains_for_months_the_back_payment_does_not_cover() -> None:
    r = records(
        payments=(
            payment("2024-01", insurances=WITHOUT_MEDICAL),
            payment("2024-02", insurances=WITHOUT_MEDICAL),
            *monthly("2024-03", "2024-05"),
            payment("2024-02", received=dt.date(2024, 5, 20), insurances=frozenset({"medical"})),
        )
    )
    assert finding(r, "medical_not_paid").evidence == ("2024-01: paid without medical insurance",)


def test_medical_not_paid_lists_each_month_once_in_order() -> None:
    r = records(
        payments=(
            payment("2024-03", insurances=WITHOUT_MEDICAL),
            payment("2024-01", insurances=WITHOUT_MEDICAL),
            payment("2024-01", received=dt.date(2024, 2, 3), insurances=frozenset({"pension"})),
            *monthly("2024-04", "2024-05"),
        )
    )
    assert finding(r, "medical_not_paid").evidence == (
        "2024-01: paid without medical insurance",
        "2024-03: paid without medical insurance",
    )


def test_medical_not_paid_absent_when_a_multi_month_medical_payment_covers_the_month() -> None:
    r = records(
        scheme=Scheme.RESIDENT,
        jobs=(),
        payments=(
            payment("2024-03", insurances=WITHOUT_MEDICAL),
            payment("2024-01", through="2024-12", credit_fen=0),
        ),
    )
    assert "medical_not_paid" not in codes(r)


def test_medical_not_paid_absent_when_every_payment_has_medical() -> None:
    assert "medical_not_paid" not in codes(records())


# -- not_registered and late_registration --------------------------------------------------
def test_not_registered_when_hired_and_not_registered() -> None:
    f = finding(records(jobs=(job(registered=None),), payments=()), "not_registered")
    assert "E001" in f.evidence[0]
    assert str(HIRED) in f.evidence[0]


def test_not_registered_from_the_day_of_hiring() -> None:
    r = records(as_of=HIRED, jobs=(job(registered=None),), payments=())
    assert "not_registered" in codes(r)


def test_not_registered_absent_once_registered() -> None:
    assert "not_registered" not in codes(records(jobs=(job(registered=AS_OF),)))


def test_not_registered_only_for_the_unregistered_job() -> None:
    r = records(
        jobs=(
            job(left=dt.date(2024, 3, 1)),
            job(hired=dt.date(2024, 3, 1), registered=None, employer="E002"),
        )
    )
    f = finding(r, "not_registered")
    assert len(f.evidence) == 1
    assert "E002" in f.evidence[0]


@pytest.mark.parametrize(("days", "late"), [(0, False), (29, False), (30, False), (31, True)])
def test_late_registration_is_more_than_30_days_after_hiring(days: int, late: bool) -> None:
    r = records(jobs=(job(registered=HIRED + dt.timedelta(days=days)),))
    assert ("late_registration" in codes(r)) is late


def test_late_registration_evidence_counts_the_days() -> None:
    r = records(jobs=(job(registered=HIRED + dt.timedelta(days=31)),))
    f = finding(r, "late_registration")
    assert f.evidence == (
        f"Employer E001: hired {HIRED}, registered {HIRED + dt.timedelta(days=31)} (31 days)",
    )


def test_late_registration_stays_after_leaving() -> None:
    r = records(
        jobs=(job(registered=HIRED + dt.timedelta(days=60), left=dt.date(2024, 5, 1)),),
        scheme=None,
    )
    assert "late_registration" in codes(r)


def test_a_registered_job_is_never_not_registered_even_when_late() -> None:
    r = records(jobs=(job(registered=HIRED + dt.timedelta(days=90)),))
    assert "not_registered" not in codes(r)


# -- contributions_stopped -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("as_of", "latest", "stopped"),
    [
        (dt.date(2024, 6, 15), "2024-05", False),  # the month before the as_of month
        (dt.date(2024, 6, 15), "2024-04", True),  # two months before
        (dt.date(2024, 6, 15), "2024-06", False),
        (dt.date(2024, 6, 1), "2024-05", False),
        (dt.date(2024, 6, 30), "2024-04", True),
        (dt.date(2024, 1, 10), "2023-12", False),  # across the year
        (dt.date(2024, 1, 10), "2023-11", True),
    ],
)
def test_contributions_stopped_by_the_latest_medical_month(
    as_of: dt.date, latest: str, stopped: bool
) -> None:
    r = records(as_of=as_of, payments=monthly("2023-06", latest))
    assert ("contributions_stopped" in codes(r)) is stopped


def test_contributions_stopped_evidence_names_the_latest_and_expected_months() -> None:
    f = finding(records(payments=monthly("2024-01", "2024-04")), "contributions_stopped")
    assert "2024-04" in f.summary
    assert f.evidence == (
        "latest month covered by a medical contribution: 2024-04",
        "month expected by now: 2024-05",
    )


def test_contributions_stopped_ignores_later_payments_without_medical() -> None:
    r = records(
        payments=(
            *monthly("2024-01", "2024-04"),
            payment("2024-05", insurances=WITHOUT_MEDICAL),
        )
    )
    assert "contributions_stopped" in codes(r)


def test_contributions_stopped_counts_a_back_payment_for_the_month_before() -> None:
    r = records(
        payments=(
            *monthly("2024-01", "2024-03"),
            payment("2024-05", received=dt.date(2024, 6, 10)),
        )
    )
    assert "contributions_stopped" not in codes(r)


def test_contributions_stopped_uses_the_last_month_a_payment_covers() -> None:
    resident = records(
        scheme=Scheme.RESIDENT,
        jobs=(),
        payments=(payment("2024-01", through="2024-12", received=dt.date(2023, 12, 1)),),
    )
    assert "contributions_stopped" not in codes(resident)


@pytest.mark.parametrize("latest", ["2024-05", "2024-04", "2020-01"])
def test_contributions_stopped_never_for_retirees(latest: str) -> None:
    r = retiree(payments=monthly("2019-06", latest))
    assert "contributions_stopped" not in codes(r)


def test_contributions_stopped_needs_a_medical_contribution_on_record() -> None:
    assert "contributions_stopped" not in codes(records(payments=()))


# -- crediting_pending ---------------------------------------------------------------------
def test_crediting_pending_when_a_crediting_contribution_is_not_credited() -> None:
    r = records(payments=(*monthly("2024-01", "2024-04"), payment("2024-05", credited_on=None)))
    f = finding(r, "crediting_pending")
    assert f.evidence == ("2024-05: received 2024-05-15, 120.00 yuan to credit on 2024-05-31",)


def test_crediting_pending_absent_when_credited() -> None:
    r = records(
        payments=(
            *monthly("2024-01", "2024-04"),
            payment("2024-05", credited_on=dt.date(2024, 5, 31)),
        )
    )
    assert "crediting_pending" not in codes(r)


@pytest.mark.parametrize("insurances", [ALL_FIVE, WITHOUT_MEDICAL])
def test_crediting_pending_absent_for_a_zero_credit_contribution(
    insurances: frozenset[str],
) -> None:
    r = records(
        payments=(
            *monthly("2024-01", "2024-04"),
            payment("2024-05", insurances=insurances, credit_fen=0, credited_on=None),
        )
    )
    assert "crediting_pending" not in codes(r)


def test_crediting_pending_for_one_fen() -> None:
    r = records(
        payments=(
            *monthly("2024-01", "2024-04"),
            payment("2024-05", credit_fen=1, credited_on=None),
        )
    )
    assert "crediting_pending" in codes(r)


def test_crediting_pending_for_a_back_payment_credited_at_the_month_end_it_arrives() -> None:
    back = payment("2024-02", received=dt.date(2024, 6, 3), credited_on=None)
    f = finding(records(payments=(*monthly("2024-01", "2024-05"), back)), "crediting_pending")
    assert f.evidence == ("2024-02: received 2024-06-03, 120.00 yuan to credit on 2024-06-30",)


# -- the card ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "not_activated", "lost"),
    [
        ("issued", True, False),
        ("active", False, False),
        ("lost", False, True),
        (None, False, False),
    ],
)
def test_card_findings_by_card_status(status: str | None, not_activated: bool, lost: bool) -> None:
    listed = codes(records(card=card(status) if status else None))
    assert ("card_not_activated" in listed) is not_activated
    assert ("card_reported_lost" in listed) is lost


def test_card_findings_name_the_card() -> None:
    assert "A10000001" in finding(records(card=card("issued")), "card_not_activated").evidence[0]
    assert "A10000001" in finding(records(card=card("lost")), "card_reported_lost").evidence[0]


# -- spending ------------------------------------------------------------------------------
@pytest.mark.parametrize(("spent_fen", "present"), [(-1, False), (0, False), (1, True)])
def test_balance_spent_above_zero(spent_fen: int, present: bool) -> None:
    assert ("balance_spent" in codes(records(spent_fen=spent_fen))) is present


@pytest.mark.parametrize(("family_fen", "present"), [(0, False), (1, True)])
def test_family_spending_above_zero(family_fen: int, present: bool) -> None:
    r = records(spent_fen=max(family_fen, 1), family_spent_fen=family_fen)
    assert ("family_spending" in codes(r)) is present


def test_balance_spent_evidence_has_the_credits_and_the_spending() -> None:
    f = finding(records(spent_fen=1, credited_fen=60_000), "balance_spent")
    assert f.evidence == ("credited in all: 600.00 yuan", "spent: 0.01 yuan")
    assert "0.01" in f.summary
    assert "0.01" in f.summary_zh


def test_family_spending_evidence_has_the_amount() -> None:
    f = finding(records(spent_fen=500, family_spent_fen=1), "family_spending")
    assert f.evidence == ("family mutual aid: 0.01 yuan",)


# -- reform_employer_share_not_credited ----------------------------------------------------
@pytest.mark.parametrize(
    ("scheme", "current", "earlier", "present"),
    [
        (Scheme.EMPLOYEE, False, True, True),
        (Scheme.EMPLOYEE, True, True, False),  # the policy in force still credits it
        (Scheme.EMPLOYEE, False, False, False),  # no earlier policy credited it
        (Scheme.EMPLOYEE, True, False, False),
        (Scheme.FLEXIBLE, False, True, False),
        (Scheme.RETIREE, False, True, False),
        (Scheme.RESIDENT, False, True, False),
        (None, False, True, False),
    ],
)
def test_reform_employer_share_not_credited(
    scheme: Scheme | None, current: bool, earlier: bool, present: bool
) -> None:
    r = records(
        scheme=scheme,
        policy_credits_employer_share=current,
        earlier_policy_credited_employer_share=earlier,
    )
    assert ("reform_employer_share_not_credited" in codes(r)) is present


# -- retiree_fixed_credit ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("scheme", "monthly_fen", "present"),
    [
        (Scheme.RETIREE, 8_000, True),
        (Scheme.RETIREE, 1, True),
        (Scheme.RETIREE, 0, False),
        (Scheme.EMPLOYEE, 8_000, False),
        (Scheme.FLEXIBLE, 8_000, False),
    ],
)
def test_retiree_fixed_credit(scheme: Scheme, monthly_fen: int, present: bool) -> None:
    r = retiree(scheme=scheme, retiree_monthly_fen=monthly_fen)
    assert ("retiree_fixed_credit" in codes(r)) is present


def test_retiree_fixed_credit_states_the_amount() -> None:
    f = finding(retiree(retiree_monthly_fen=8_300), "retiree_fixed_credit")
    assert "83.00" in f.summary
    assert "83.00" in f.summary_zh


# -- no_records ----------------------------------------------------------------------------
def test_no_records_without_job_enrolment_or_payment() -> None:
    f = finding(records(**NOTHING), "no_records")
    assert PERSON not in f.summary  # the ID number is masked


@pytest.mark.parametrize(
    "some_record",
    [
        {"ever_enrolled": True},
        {"jobs": (job(registered=None),)},
        {"payments": (payment("2024-05", insurances=WITHOUT_MEDICAL),)},
    ],
    ids=["enrolment", "job", "payment"],
)
def test_no_records_absent_with_any_record(some_record: dict[str, Any]) -> None:
    assert "no_records" not in codes(records(**{**NOTHING, **some_record}))


def test_no_records_regardless_of_a_card_or_a_balance() -> None:
    r = records(**{**NOTHING, "card": card("issued"), "financial_fen": 500})
    assert "no_records" in codes(r)


def test_no_records_is_the_only_finding_for_a_stranger_at_the_web() -> None:
    assert codes(records(**NOTHING, medical_fen=0, credited_fen=0)) == ["no_records"]


def test_explanation_codes_follow_the_findings() -> None:
    explanation = explain(TRIGGERS["family_spending"])
    assert isinstance(explanation, Explanation)
    assert explanation.codes == [f.code for f in explanation.findings]
    assert explanation.codes == ["balance_spent", "family_spending"]


def test_a_person_whose_account_is_zero_learns_what_the_pool_paid_this_year() -> None:
    found = finding(
        records(medical_fen=0, credited_fen=0, fund_paid_fen=694_500, fund_bills=2),
        "pooled_fund_paid",
    )
    assert "6945.00" in found.summary
    assert found.evidence == ("pooled fund paid in 2024: 6945.00 yuan for 2 bills",)
    assert "pooled_fund_paid" not in codes(records(fund_paid_fen=0))
