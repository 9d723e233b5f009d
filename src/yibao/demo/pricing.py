"""The medical amounts and the credit of a generated payment, exactly as recording it would.

`record_contribution` computes these on receipt; the generator writes rows in bulk instead, so it
calls the same domain function (`price_payment`) with the same inputs: the policy of the month
paid for, the base clamped by it, the scheme and tier on the day of receipt, and the birth date.
"""

from __future__ import annotations

from yibao.demo.payments import Payer, Payment
from yibao.domain.crediting import price_payment
from yibao.domain.months import Month, age_on
from yibao.domain.policy import Policy, PolicySchedule
from yibao.domain.schemes import Scheme

Priced = tuple[int | None, int, int, int]  # base_fen, medical employer, medical person, credit
_MemoKey = tuple[Month, Scheme, str | None, int, int, bool]  # ..., base, age, medical paid


class Pricer:
    """Computes (base, employer part, person's part, credit) for payments, memoized.

    The memo key holds everything the rules depend on (FORMAT.md, "Crediting rules"): the month
    (hence its policy), scheme, tier, clamped base and the age in completed years on the month's
    first day, so a hit returns exactly what the domain functions would.
    """

    def __init__(self, schedule: PolicySchedule) -> None:
        self.schedule = schedule
        self._policies: dict[Month, Policy] = {}
        self._memo: dict[
            tuple[Month, Scheme, str | None, int, int, bool], tuple[int, int, int]
        ] = {}

    def policy(self, month: Month) -> Policy:
        found = self._policies.get(month)
        if found is None:
            found = self._policies[month] = self.schedule.for_month(month)
        return found

    def price(self, payer: Payer, payment: Payment) -> Priced:
        month, scheme, tier = payment.month, payer.scheme, payer.tier
        policy = self.policy(month)
        base = None if scheme is Scheme.RESIDENT else policy.clamp_base(payment.base_fen or 0)
        age = age_on(payer.birth_date, month.first_day)
        key = (month, scheme, tier, base or 0, age, "medical" in payment.insurances)
        found = self._memo.get(key)
        if found is None:
            priced = price_payment(
                policy=policy,
                month=month,
                scheme=scheme,
                tier=tier,
                base_fen=payment.base_fen or 0,
                insurances=payment.insurances,
                birth_date=payer.birth_date,
            )
            found = (priced.medical_employer_fen, priced.medical_person_fen, priced.credit_fen)
            self._memo[key] = found
            if len(self._memo) > 200_000:
                self._memo.clear()  # keep memory flat over long runs
                self._memo[key] = found
        return (base, *found)
