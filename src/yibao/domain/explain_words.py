"""The explainer's words beyond its summaries: each finding's next step in Chinese, the legal
or policy basis of the findings whose rule does not name one itself, and every basis in Chinese.

Kept beside `explain.py` as tables by finding code, so that a new finding shows up here as a
missing key (a unit test walks every code) rather than as an English sentence on a Chinese page.
"""

from __future__ import annotations

# The basis each finding rests on (Social Insurance Law articles; the State Council General
# Office's guideline on outpatient mutual aid, Guobanfa [2021] No. 14; the area's own policy).
LEGAL_BASIS: dict[str, str] = {
    "financial_account_queried": (
        "Social Insurance Law art. 28 and art. 29: the personal account pays designated "
        "institutions directly; it is not the card's bank account"
    ),
    "no_personal_account_resident": (
        "Social Insurance Law art. 25 (urban-rural resident medical insurance: no personal "
        "account; outpatient pooling)"
    ),
    "no_personal_account_pooled_only": (
        "Social Insurance Law art. 23; the area's pooled-only (hospitalization) cover, which "
        "has no personal account"
    ),
    "no_personal_account_flexible_tier": (
        "Social Insurance Law art. 23 (flexible workers pay under the area's rules); the "
        "area's policy for the tier"
    ),
    "contributions_stopped": (
        "Social Insurance Law art. 60 (contributions paid in full and on time; flexible "
        "workers pay their own)"
    ),
    "crediting_pending": (
        "Guobanfa [2021] No. 14 (the personal account is credited from the contributions); "
        "the area's policy credits at month end"
    ),
    "card_not_activated": (
        "Social Insurance Law art. 29 (settlement at designated institutions, with the card); "
        "the agency's card rules: the medical function is activated when the card is collected"
    ),
    "card_reported_lost": (
        "the agency's card rules: a lost card is frozen and replaced; the personal account "
        "stays the person's (Social Insurance Law art. 58: one social security number per person)"
    ),
    "no_records": (
        "Social Insurance Law art. 58 (registration; the ID number is the social security "
        "number) and art. 74 (each person's records)"
    ),
}

_LAW = "《社会保险法》"
_GUOBANFA_2021_14 = (
    "《国务院办公厅关于建立健全职工基本医疗保险门诊共济保障机制的指导意见》（国办发〔2021〕14号）"
)

# Every finding's basis in Chinese, by finding code: the bases of LEGAL_BASIS and those the
# rules name themselves (explain.py), which a finding code always names the same way.
LEGAL_BASIS_ZH: dict[str, str] = {
    "financial_account_queried": (
        f"{_LAW}第二十八条、第二十九条：个人账户直接与定点医药机构结算，不是社保卡的银行账户"
    ),
    "no_personal_account_resident": (
        f"{_LAW}第二十五条（城乡居民基本医疗保险：不设个人账户，实行门诊统筹）"
    ),
    "no_personal_account_pooled_only": (
        f"{_LAW}第二十三条；本统筹区的单建统筹（只保住院）政策，不设个人账户"
    ),
    "no_personal_account_flexible_tier": (
        f"{_LAW}第二十三条（灵活就业人员按统筹区规定缴费）；本统筹区该缴费档次的政策"
    ),
    "contributions_stopped": f"{_LAW}第六十条（按时足额缴纳社会保险费；灵活就业人员自行缴纳）",
    "crediting_pending": f"{_GUOBANFA_2021_14}（个人账户由缴费划入）；本统筹区政策规定月末划入",
    "card_not_activated": (
        f"{_LAW}第二十九条（持卡在定点医药机构直接结算）；经办机构的社保卡规定：领卡时激活社保功能"
    ),
    "card_reported_lost": (
        "经办机构的社保卡规定：挂失的卡冻结后补换，个人账户仍归本人"
        f"（{_LAW}第五十八条：每人一个社会保障号码）"
    ),
    "no_records": (
        f"{_LAW}第五十八条（社会保险登记；公民身份号码即社会保障号码）、第七十四条（个人权益记录）"
    ),
    "records_split": f"{_LAW}第五十八条（每人一个社会保障号码）",
    "medical_not_paid": f"{_LAW}第六十条（用人单位按时足额缴纳）、第六十三条",
    "not_registered": f"{_LAW}第五十八条",
    "late_registration": f"{_LAW}第五十八条",
    "balance_spent": f"{_LAW}第二十八条",
    "pooled_fund_paid": f"{_LAW}第二十八条",
    "family_spending": (
        f"{_GUOBANFA_2021_14}；《国务院办公厅关于健全基本医疗保险参保长效机制的指导意见》"
        "（国办发〔2024〕38号）"
    ),
    "reform_employer_share_not_credited": _GUOBANFA_2021_14,
    "retiree_fixed_credit": _GUOBANFA_2021_14,
}

NEXT_STEP_ZH: dict[str, str] = {
    "financial_account_queried": "请通过网上服务、12393 医保热线或药店 POS 查询医保个人账户余额。",
    "no_personal_account_resident": "在定点医疗机构使用门诊统筹报销；您的账户没有缺少任何钱。",
    "no_personal_account_pooled_only": "请向单位询问能否参加完整的职工医保。",
    "no_personal_account_flexible_tier": "较高的缴费档次会划入个人账户，可到经办机构申请调整档次。",
    "records_split": "请到经办机构合并记录（或办理跨统筹区转移接续）。",
    "medical_not_paid": "请单位为这些月份补缴医疗保险；单位不补缴的，可以向经办机构投诉。",
    "not_registered": "请单位为您办理参保登记；单位应当自用工之日起 30 日内办理。",
    "late_registration": "请单位补缴登记之前月份的保险费。",
    "contributions_stopped": "请向单位核实，或以灵活就业人员身份缴费；断缴可能产生待遇等待期。",
    "crediting_pending": "请等待月末划账后再查询。",
    "card_not_activated": "请到领卡的地方（经办机构或银行网点）激活社保卡。",
    "card_reported_lost": "请申请补换新卡；余额跟着人走，不跟着卡走。",
    "balance_spent": "每一笔结算可在消费记录中查看。",
    "family_spending": "如有疑问，请查看或解除家庭共济绑定。",
    "reform_employer_share_not_credited": "没有少钱：门诊费用现在也可以通过门诊统筹报销。",
    "pooled_fund_paid": "每张结算单都列出统筹基金支付的部分、起付线和报销比例。",
    "retiree_fixed_credit": "每月月末划入。",
    "no_records": "请核对身份证号，或询问您的记录是否在另一个号码或统筹区。",
}


def next_step_zh(code: str, english: str) -> str:
    """The next step in Chinese, or the English one for a finding not in the table."""
    return NEXT_STEP_ZH.get(code, english)
