"""The balance explainer: why a balance is what it is, from a person's own records.

A pure function of plain values (FORMAT.md, "Findings"); the services gather the records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from yibao.domain.channels import FINANCIAL_CHANNELS
from yibao.domain.explain_words import LEGAL_BASIS, LEGAL_BASIS_ZH
from yibao.domain.idnumber import mask
from yibao.domain.money import fen_to_yuan
from yibao.domain.months import Month
from yibao.domain.schemes import Scheme

LATE_REGISTRATION_DAYS = 30  # Social Insurance Law art. 58: register within 30 days of hiring


@dataclass(frozen=True, slots=True)
class JobRecord:
    employer_code: str
    employer_name: str
    hired_on: dt.date
    registered_on: dt.date | None
    left_on: dt.date | None


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    month: Month
    through_month: Month
    received_on: dt.date
    insurances: frozenset[str]
    credit_fen: int
    credited_on: dt.date | None  # the month-end run that credited it, if it ran by as_of


@dataclass(frozen=True, slots=True)
class CardRecord:
    card_no: str
    status: str  # issued, active, lost (the current card, as of the day asked)
    issued_on: dt.date


@dataclass(frozen=True, slots=True)
class PersonRecords:
    """Everything the explainer may use, as known at the end of `as_of`."""

    id_number: str
    as_of: dt.date
    channel: str
    medical_fen: int
    financial_fen: int
    scheme: Scheme | None
    tier: str | None
    tier_account_rate_zero: bool
    policy_credits_employer_share: bool
    earlier_policy_credited_employer_share: bool
    retiree_monthly_fen: int
    ever_enrolled: bool
    jobs: tuple[JobRecord, ...] = ()
    payments: tuple[PaymentRecord, ...] = ()
    card: CardRecord | None = None
    spent_fen: int = 0  # net of refunds, from the personal account
    family_spent_fen: int = 0  # the part of it for bound family members
    credited_fen: int = 0
    split_records: tuple[str, ...] = ()  # other records of this human not merged yet
    split_records_zh: tuple[str, ...] = ()  # the same lines in Chinese
    fund_paid_fen: int = 0  # what the pooled fund paid for this person's bills this year
    fund_bills: int = 0  # ... for how many bills
    own_credit_rate: str | None = None  # the policy in force: the base's share credited ("2%")
    policy_from: str | None = None  # the month the policy in force took effect


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    summary: str
    summary_zh: str
    evidence: tuple[str, ...]
    next_step: str
    legal_basis: str | None = None
    # The evidence and the basis in Chinese, line for line, for the Chinese pages and hotline.
    evidence_zh: tuple[str, ...] = ()
    legal_basis_zh: str | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    shown_fen: int
    shows: str  # "medical" or "financial"
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]


def explain(records: PersonRecords) -> Explanation:
    """Every finding whose condition holds, the most explanatory first."""
    shows_financial = records.channel in FINANCIAL_CHANNELS
    findings = [_with_basis(f) for rule in RULES if (f := rule(records)) is not None]
    return Explanation(
        shown_fen=records.financial_fen if shows_financial else records.medical_fen,
        shows="financial" if shows_financial else "medical",
        findings=tuple(findings),
    )


def _with_basis(finding: Finding) -> Finding:
    """Every finding names the law or policy it rests on, where its rule does not itself, in
    English and in Chinese."""
    basis = finding.legal_basis or LEGAL_BASIS.get(finding.code)
    if basis is None:
        return finding
    return replace(finding, legal_basis=basis, legal_basis_zh=LEGAL_BASIS_ZH[finding.code])


# -- the rules, in the order they explain a balance ----------------------------------------
def _financial_account_queried(r: PersonRecords) -> Finding | None:
    if r.channel not in FINANCIAL_CHANNELS:
        return None
    return Finding(
        "financial_account_queried",
        "The ATM shows the card's bank (financial) account, not the medical insurance personal "
        "account; the two are separate and never mix.",
        "ATM 显示的是社保卡的金融账户余额，不是医保个人账户余额，两者相互独立。",
        (
            f"financial account {fen_to_yuan(r.financial_fen)} yuan",
            f"medical personal account {fen_to_yuan(r.medical_fen)} yuan",
        ),
        "Ask for the medical account balance online, on the 12393 hotline, or at a pharmacy POS.",
        evidence_zh=(
            f"社保卡金融账户余额 {fen_to_yuan(r.financial_fen)} 元",
            f"医保个人账户余额 {fen_to_yuan(r.medical_fen)} 元",
        ),
    )


def _no_personal_account_resident(r: PersonRecords) -> Finding | None:
    if r.scheme is not Scheme.RESIDENT:
        return None
    return Finding(
        "no_personal_account_resident",
        "Urban-rural resident medical insurance has no personal account; outpatient costs are "
        "covered by outpatient pooling instead.",
        "城乡居民医保不设个人账户，门诊费用通过门诊统筹报销。",
        ("scheme on the day asked: urban-rural resident",),
        "Use outpatient pooling at designated institutions; nothing is missing from your account.",
        evidence_zh=("查询当日的参保类型：城乡居民医保",),
    )


def _no_personal_account_pooled_only(r: PersonRecords) -> Finding | None:
    if r.scheme is not Scheme.POOLED_ONLY:
        return None
    return Finding(
        "no_personal_account_pooled_only",
        "Your employer insures you for pooled (hospitalization) cover only, which has no "
        "personal account.",
        "单位为您参加的是单建统筹（只保住院），不设个人账户。",
        ("scheme on the day asked: employee, pooled-only cover",),
        "Ask the employer whether full employee medical insurance is possible.",
        evidence_zh=("查询当日的参保类型：职工医保单建统筹（只保住院）",),
    )


def _records_split(r: PersonRecords) -> Finding | None:
    if not r.split_records:
        return None
    return Finding(
        "records_split",
        "Part of your records are kept under another social security number or in another "
        "area; money credited there does not show here until the records are merged.",
        "您的部分参保记录在另一个社保号或另一个统筹区，合并之前那里的余额不会显示在这里。",
        r.split_records,
        "Ask the agency to merge the records (or transfer them between areas).",
        "Social Insurance Law art. 58 (one social security number per person)",
        evidence_zh=r.split_records_zh or r.split_records,
    )


def _no_personal_account_flexible_tier(r: PersonRecords) -> Finding | None:
    if r.scheme is not Scheme.FLEXIBLE or not r.tier_account_rate_zero:
        return None
    return Finding(
        "no_personal_account_flexible_tier",
        f"As a flexible worker on the '{r.tier}' tier you pay for pooled cover only: this tier "
        "credits nothing to a personal account.",
        f"灵活就业人员按“{r.tier}”档缴费，该档次不划入个人账户。",
        (f"flexible employment, tier {r.tier}, account credit rate 0",),
        "A higher contribution tier credits a personal account; ask the agency to change tier.",
        evidence_zh=(f"灵活就业，缴费档次“{r.tier}”，个人账户划入比例为 0",),
    )


def _medical_not_paid(r: PersonRecords) -> Finding | None:
    months = _months_without_medical(r.payments)
    if not months:
        return None
    return Finding(
        "medical_not_paid",
        "For some months other insurances were paid but not medical insurance, so nothing could "
        "be credited for them.",
        "部分月份只缴了养老等险种，未缴医疗保险，这些月份没有划入个人账户。",
        tuple(f"{m}: paid without medical insurance" for m in months),
        "Ask the employer to pay the medical insurance for these months (back payment); you may "
        "complain to the agency if it does not.",
        "Social Insurance Law art. 60 (employers pay in full and on time), art. 63",
        evidence_zh=tuple(f"{m}：已缴费，但未缴医疗保险" for m in months),
    )


def _not_registered(r: PersonRecords) -> Finding | None:
    open_jobs = [j for j in r.jobs if j.registered_on is None and _employed_on(j, r.as_of)]
    if not open_jobs:
        return None
    return Finding(
        "not_registered",
        "You were hired but your employer has not registered you for social insurance.",
        "用人单位尚未为您办理社会保险登记。",
        tuple(
            f"hired by {j.employer_name} ({j.employer_code}) on {j.hired_on}, not registered"
            for j in open_jobs
        ),
        "Ask the employer to register you; it must within 30 days of hiring.",
        "Social Insurance Law art. 58",
        evidence_zh=tuple(
            f"{j.hired_on} 入职 {j.employer_name}（{j.employer_code}），尚未办理参保登记"
            for j in open_jobs
        ),
    )


def _late_registration(r: PersonRecords) -> Finding | None:
    late = [
        j
        for j in r.jobs
        if j.registered_on is not None
        and (j.registered_on - j.hired_on).days > LATE_REGISTRATION_DAYS
    ]
    if not late:
        return None
    return Finding(
        "late_registration",
        "Your employer registered you more than 30 days after hiring you; months before the "
        "registration may have no contributions.",
        "用人单位超过 30 日才为您办理登记，登记前的月份可能没有缴费。",
        tuple(
            f"{j.employer_name}: hired {j.hired_on}, registered {j.registered_on} "
            f"({(j.registered_on - j.hired_on).days} days)"
            for j in late
            if j.registered_on
        ),
        "Ask the employer to pay the months before registration.",
        "Social Insurance Law art. 58",
        evidence_zh=tuple(
            f"{j.employer_name}：{j.hired_on} 入职，{j.registered_on} 登记"
            f"（相隔 {(j.registered_on - j.hired_on).days} 天）"
            for j in late
            if j.registered_on
        ),
    )


def _contributions_stopped(r: PersonRecords) -> Finding | None:
    if r.scheme is Scheme.RETIREE:
        return None
    covered = [p.through_month for p in r.payments if "medical" in p.insurances]
    if not covered:
        return None
    latest, due = max(covered), Month.of(r.as_of).plus(-1)
    if latest >= due:
        return None
    return Finding(
        "contributions_stopped",
        f"Medical insurance contributions stopped: the latest month paid is {latest}.",
        f"医保缴费已中断，最近缴费月份为 {latest}。",
        (
            f"latest month covered by a medical contribution: {latest}",
            f"month expected by now: {due}",
        ),
        "Check with the employer, or pay as a flexible worker; interrupted cover can bring a "
        "waiting period.",
        evidence_zh=(f"医保缴费覆盖的最近月份：{latest}", f"截至目前应缴到：{due}"),
    )


def _crediting_pending(r: PersonRecords) -> Finding | None:
    pending = [p for p in r.payments if p.credit_fen > 0 and p.credited_on is None]
    if not pending:
        return None
    return Finding(
        "crediting_pending",
        "A contribution has been received but the month-end crediting has not run yet; the "
        "money reaches the personal account at the end of the month.",
        "缴费已到账，但尚未到月末划账，月底将划入个人账户。",
        tuple(
            f"{p.month}: received {p.received_on}, {fen_to_yuan(p.credit_fen)} yuan to credit "
            f"on {Month.of(p.received_on).last_day}"
            for p in pending
        ),
        "Wait for the month-end crediting, then ask again.",
        evidence_zh=tuple(
            f"{p.month}：{p.received_on} 到账，{fen_to_yuan(p.credit_fen)} 元将于 "
            f"{Month.of(p.received_on).last_day} 划入"
            for p in pending
        ),
    )


def _card_not_activated(r: PersonRecords) -> Finding | None:
    if r.card is None or r.card.status != "issued":
        return None
    return Finding(
        "card_not_activated",
        "Your social security card was issued but its medical function is not activated, so it "
        "cannot be used at hospitals and pharmacies yet.",
        "社保卡已制卡但社保功能尚未激活，暂时不能在医院药店使用。",
        (f"card {r.card.card_no} issued {r.card.issued_on}, not activated",),
        "Activate the card where you collected it (agency or bank branch).",
        evidence_zh=(f"社保卡 {r.card.card_no} 于 {r.card.issued_on} 制卡，尚未激活",),
    )


def _card_reported_lost(r: PersonRecords) -> Finding | None:
    if r.card is None or r.card.status != "lost":
        return None
    return Finding(
        "card_reported_lost",
        "Your card is reported lost and frozen; the balance is safe and belongs to you.",
        "您的社保卡已挂失冻结，余额仍属于您本人。",
        (f"card {r.card.card_no} reported lost",),
        "Apply for a replacement card; the balance moves with you, not with the card.",
        evidence_zh=(f"社保卡 {r.card.card_no} 已挂失",),
    )


def _balance_spent(r: PersonRecords) -> Finding | None:
    if r.spent_fen <= 0:
        return None
    return Finding(
        "balance_spent",
        f"{fen_to_yuan(r.spent_fen)} yuan of the personal account was spent at designated "
        "hospitals and pharmacies (net of refunds).",
        f"个人账户已在定点医药机构支付 {fen_to_yuan(r.spent_fen)} 元（扣除退费）。",
        (
            f"credited in all: {fen_to_yuan(r.credited_fen)} yuan",
            f"spent: {fen_to_yuan(r.spent_fen)} yuan",
        ),
        "See your payment records for each settlement.",
        "Social Insurance Law art. 28",
        evidence_zh=(
            f"累计划入 {fen_to_yuan(r.credited_fen)} 元",
            f"累计支出 {fen_to_yuan(r.spent_fen)} 元",
        ),
    )


def _family_spending(r: PersonRecords) -> Finding | None:
    if r.family_spent_fen <= 0:
        return None
    return Finding(
        "family_spending",
        f"{fen_to_yuan(r.family_spent_fen)} yuan was spent for bound family members (family "
        "mutual aid).",
        f"其中 {fen_to_yuan(r.family_spent_fen)} 元用于家庭共济（为绑定的家人支付）。",
        (f"family mutual aid: {fen_to_yuan(r.family_spent_fen)} yuan",),
        "Review or remove family bindings if this is unexpected.",
        "Guobanfa [2021] No. 14; Guobanfa [2024] No. 38",
        evidence_zh=(f"家庭共济支出 {fen_to_yuan(r.family_spent_fen)} 元",),
    )


def _pooled_fund_paid(r: PersonRecords) -> Finding | None:
    """Not a reason for the balance: what the insurance paid beside it, which a person whose
    account is 0 should also learn."""
    if r.fund_paid_fen <= 0:
        return None
    return Finding(
        "pooled_fund_paid",
        f"This year the pooled fund paid {fen_to_yuan(r.fund_paid_fen)} yuan of your bills at "
        "hospitals and clinics; that money never passes through the personal account.",
        f"今年统筹基金已为您支付医疗费用 {fen_to_yuan(r.fund_paid_fen)} 元（不经过个人账户）。",
        (
            f"pooled fund paid in {r.as_of.year}: {fen_to_yuan(r.fund_paid_fen)} yuan "
            f"for {r.fund_bills} bill{'s' if r.fund_bills != 1 else ''}",
        ),
        "Each receipt shows the fund's part, the deductible applied and the ratio.",
        "Social Insurance Law art. 28",
        evidence_zh=(
            f"{r.as_of.year} 年统筹基金支付 {fen_to_yuan(r.fund_paid_fen)} 元，"
            f"共 {r.fund_bills} 笔",
        ),
    )


def _reform(r: PersonRecords) -> Finding | None:
    if (
        r.scheme is not Scheme.EMPLOYEE
        or r.policy_credits_employer_share
        or not r.earlier_policy_credited_employer_share
    ):
        return None
    rate = r.own_credit_rate or "own contribution"
    since = f" (this area's policy from {r.policy_from})" if r.policy_from else ""
    since_zh = f"（本统筹区自 {r.policy_from} 起执行）" if r.policy_from else ""
    return Finding(
        "reform_employer_share_not_credited",
        f"Since the outpatient mutual-aid reform{since}, only your own {rate} of the base is "
        "credited; the employer's share goes to the pooled fund, so monthly credits are smaller "
        "than before.",
        f"门诊共济改革后{since_zh}，单位缴费全部计入统筹基金，个人账户只划入本人缴费部分"
        f"（缴费基数的 {rate}）。",
        (
            "the policy in force credits no employer share; an earlier one did",
            f"the policy in force credits the employee's own {rate} of the base",
        ),
        "Nothing is missing: outpatient costs are now also covered by outpatient pooling.",
        "Guobanfa [2021] No. 14",
        evidence_zh=(
            "现行政策单位缴费不划入个人账户；以前的政策划入",
            f"现行政策按本人缴费基数的 {r.own_credit_rate} 划入个人账户"
            if r.own_credit_rate
            else "现行政策按本人缴费部分划入个人账户",
        ),
    )


def _retiree_fixed_credit(r: PersonRecords) -> Finding | None:
    if r.scheme is not Scheme.RETIREE or r.retiree_monthly_fen <= 0:
        return None
    return Finding(
        "retiree_fixed_credit",
        f"As a retiree you are credited a fixed {fen_to_yuan(r.retiree_monthly_fen)} yuan a "
        "month from the pooled fund.",
        f"退休人员个人账户按月定额划入 {fen_to_yuan(r.retiree_monthly_fen)} 元。",
        (f"fixed monthly credit: {fen_to_yuan(r.retiree_monthly_fen)} yuan",),
        "Credits arrive at each month end.",
        "Guobanfa [2021] No. 14",
        evidence_zh=(f"每月定额划入 {fen_to_yuan(r.retiree_monthly_fen)} 元",),
    )


def _no_records(r: PersonRecords) -> Finding | None:
    if r.ever_enrolled or r.jobs or r.payments:
        return None
    return Finding(
        "no_records",
        f"There is no employment, enrolment or contribution on record for {mask(r.id_number)}.",
        "没有查到您的参保、就业或缴费记录。",
        ("no records",),
        "Check the ID number, or ask whether your records are under another number or area.",
        evidence_zh=("没有任何记录",),
    )


RULES = (
    _financial_account_queried,
    _no_records,
    _no_personal_account_resident,
    _no_personal_account_pooled_only,
    _no_personal_account_flexible_tier,
    _records_split,
    _not_registered,
    _medical_not_paid,
    _crediting_pending,
    _card_not_activated,
    _card_reported_lost,
    _balance_spent,
    _family_spending,
    _pooled_fund_paid,
    _contributions_stopped,
    _late_registration,
    _reform,
    _retiree_fixed_credit,
)


def _months_without_medical(payments: tuple[PaymentRecord, ...]) -> list[Month]:
    """Months paid for with other insurances but with no medical contribution at all."""
    with_medical: set[Month] = set()
    for p in payments:
        if "medical" in p.insurances:
            with_medical.update(
                Month.from_index(i) for i in range(p.month.index, p.through_month.index + 1)
            )
    without = {p.month for p in payments if "medical" not in p.insurances}
    return sorted(without - with_medical)


def _employed_on(job: JobRecord, day: dt.date) -> bool:
    return job.hired_on <= day and (job.left_on is None or job.left_on > day)
