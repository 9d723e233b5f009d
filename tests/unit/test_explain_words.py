"""The explainer's words: every finding has a Chinese next step and a legal or policy basis,
and the reform finding quotes the area's own policy."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

from yibao.domain import explain
from yibao.domain.explain import PersonRecords
from yibao.domain.explain_words import LEGAL_BASIS, NEXT_STEP_ZH
from yibao.domain.schemes import Scheme

# a finding whose rule names its basis itself, or whose basis is its area's policy alone
BASIS_IN_RULE = {
    "records_split",
    "medical_not_paid",
    "not_registered",
    "late_registration",
    "balance_spent",
    "family_spending",
    "reform_employer_share_not_credited",
    "retiree_fixed_credit",
    "pooled_fund_paid",
}


def _finding_codes() -> set[str]:
    tree = ast.parse(Path(explain.__file__).read_text())
    codes = set()
    for node in ast.walk(tree):
        is_finding = isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Finding"
        if is_finding and isinstance(node.args[0], ast.Constant):
            codes.add(str(node.args[0].value))
    return codes


def test_every_finding_has_a_chinese_next_step() -> None:
    codes = _finding_codes()
    assert len(codes) == 18
    assert codes == set(NEXT_STEP_ZH)


def test_every_finding_rests_on_a_named_basis() -> None:
    assert _finding_codes() == set(LEGAL_BASIS) | BASIS_IN_RULE


def _employee(**changes: object) -> PersonRecords:
    values: dict[str, object] = dict(
        id_number="420102199003071232",
        as_of=dt.date(2024, 6, 30),
        channel="web",
        medical_fen=0,
        financial_fen=0,
        scheme=Scheme.EMPLOYEE,
        tier=None,
        tier_account_rate_zero=False,
        policy_credits_employer_share=False,
        earlier_policy_credited_employer_share=True,
        retiree_monthly_fen=0,
        ever_enrolled=True,
    )
    values.update(changes)
    return PersonRecords(**values)  # type: ignore[arg-type]


def test_the_reform_finding_quotes_the_areas_own_rate_and_date() -> None:
    found = explain.explain(_employee(own_credit_rate="1.5%", policy_from="2023-02"))
    reform = next(f for f in found.findings if f.code == "reform_employer_share_not_credited")
    assert "1.5%" in reform.summary
    assert "2023-02" in reform.summary
    assert "1.5%" in reform.summary_zh
    assert "2%" not in reform.summary.replace("1.5%", "")


def test_a_finding_without_a_basis_of_its_own_gets_the_tables() -> None:
    found = explain.explain(_employee(scheme=Scheme.RESIDENT))
    resident = next(f for f in found.findings if f.code == "no_personal_account_resident")
    assert resident.legal_basis is not None
    assert "art. 25" in resident.legal_basis
