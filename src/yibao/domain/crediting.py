"""How much a contribution credits to the personal account (docs/domain.md, "Crediting run")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from yibao.domain.money import round_half_up_to_fen
from yibao.domain.months import Month, age_on
from yibao.domain.policy import Policy
from yibao.domain.schemes import Scheme


@dataclass(frozen=True, slots=True)
class MedicalContribution:
    """The values of one medical contribution that its credit depends on."""

    month: Month
    scheme: Scheme
    base_fen: int  # the base as declared; clamped by the policy of `month`
    tier: str | None = None


def contribution_amounts(
    policy: Policy, scheme: Scheme, base_fen: int, tier: str | None
) -> tuple[int, int]:
    """(employer part, person's part) of a month's medical contribution, in fen."""
    base = Decimal(policy.clamp_base(base_fen))
    if scheme is Scheme.EMPLOYEE:
        return (
            round_half_up_to_fen(base * policy.employer_rate),
            round_half_up_to_fen(base * policy.employee_rate),
        )
    if scheme is Scheme.POOLED_ONLY:  # the employer pays; all of it goes to the pooled fund
        return round_half_up_to_fen(base * policy.employer_rate), 0
    if scheme is Scheme.FLEXIBLE:
        return 0, round_half_up_to_fen(base * policy.tier(tier or "").rate)
    if scheme is Scheme.RESIDENT:
        return 0, policy.resident_annual_fen
    return 0, 0


def credit_for(contribution: MedicalContribution, policy: Policy, birth_date: dt.date) -> int:
    """Fen credited for one contribution; `policy` is the one in force for its own month."""
    base = Decimal(policy.clamp_base(contribution.base_fen))
    if contribution.scheme is Scheme.EMPLOYEE:
        age = age_on(birth_date, contribution.month.first_day)
        exact = base * policy.employee_rate * policy.employee_share
        exact += base * policy.employer_share_rate(age)
        return round_half_up_to_fen(exact)
    if contribution.scheme is Scheme.FLEXIBLE:
        return round_half_up_to_fen(base * policy.tier(contribution.tier or "").account_rate)
    return 0  # residents, retirees paying nothing, pooled-only cover: no personal account


@dataclass(frozen=True, slots=True)
class PricedPayment:
    """A payment's worth: the base it is stored with, its medical parts, its credit."""

    base_fen: int | None  # clamped by the month's policy; residents pay a flat amount: None
    medical_employer_fen: int
    medical_person_fen: int
    credit_fen: int


def price_payment(
    *,
    policy: Policy,
    month: Month,
    scheme: Scheme,
    tier: str | None,
    base_fen: int,
    insurances: tuple[str, ...] | frozenset[str],
    birth_date: dt.date,
) -> PricedPayment:
    """The one pricing rule of a payment, for the contribution service and the demo loader alike.

    `policy` is the one in force for `month` (back pay is priced under its own month's policy).
    Retirees pay nothing; a payment without medical insurance moves nothing into the medical book.
    """
    base = None if scheme is Scheme.RESIDENT else policy.clamp_base(base_fen)
    if "medical" not in insurances or scheme is Scheme.RETIREE:
        return PricedPayment(base, 0, 0, 0)
    employer_fen, person_fen = contribution_amounts(policy, scheme, base or 0, tier)
    credit = credit_for(MedicalContribution(month, scheme, base or 0, tier), policy, birth_date)
    return PricedPayment(base, employer_fen, person_fen, credit)
