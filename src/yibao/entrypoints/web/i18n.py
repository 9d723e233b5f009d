"""Every word the pages show, in Chinese and English: one table, Chinese first.

A template writes `t("key")`; a key missing here is a test failure, not an untranslated page.
"""

from __future__ import annotations

from collections.abc import Callable

from yibao.domain.money import fen_to_yuan

LANGUAGES = ("zh", "en")
DEFAULT = "zh"

WORDS: dict[str, tuple[str, str]] = {
    # the frame
    "site": ("医保个人账户查询", "Medical insurance personal account"),
    "skip": ("跳到正文", "Skip to content"),
    "switch_lang": ("English", "中文"),
    "logout": ("退出登录", "Log out"),
    "logged_in_as": ("当前用户", "Logged in as"),
    "home": ("首页", "Home"),
    "submit": ("提交", "Submit"),
    "search": ("查询", "Search"),
    "yuan": ("元", "yuan"),
    "none": ("无", "none"),
    "done": ("已完成", "Done"),
    "print": ("打印", "Print"),
    "day": ("日期", "Day"),
    "month": ("月份", "Month"),
    "name": ("姓名", "Name"),
    "id_number": ("身份证号", "ID number"),
    "area": ("统筹区", "Area"),
    "status": ("状态", "Status"),
    "amount": ("金额", "Amount"),
    "total": ("合计", "Total"),
    # login
    "login": ("登录", "Log in"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "bad_credentials": ("用户名或密码错误。", "Wrong user name or password."),
    "too_many_attempts": (
        "密码错误次数过多，请15分钟后再试或联系管理员。",
        "Too many wrong passwords: try again in 15 minutes or ask an administrator.",
    ),
    "csrf": ("页面已过期，请刷新后重试。", "The form expired: reload the page and try again."),
    # errors
    "error": ("无法完成", "Could not be done"),
    "forbidden": ("您无权查看此页面。", "You may not open this page."),
    "not_found": ("没有找到。", "Not found."),
    "field": ("字段", "Field"),
    "back_home": ("返回首页", "Back to your home page"),
    "no_page_for_role": (
        "您的角色没有网页，请使用接口（/api/v1/docs）。",
        "Your role has no pages here: use the API (/api/v1/docs).",
    ),
    # the person
    "my_accounts": ("我的账户", "My accounts"),
    "medical_account": ("医保个人账户", "Medical insurance personal account"),
    "medical_account_note": (
        "用于在定点药店、医院支付医疗费用；ATM 上看不到。",
        "Pays at designated pharmacies and hospitals; an ATM does not show it.",
    ),
    "financial_account": ("社保卡金融账户", "The card's financial (bank) account"),
    "financial_account_note": (
        "社保卡的银行功能，ATM 显示的是这个余额，与医保个人账户互不相通。",
        "The card's bank function: what an ATM shows. It never mixes with the medical account.",
    ),
    "balance": ("余额", "Balance"),
    "as_of": ("截至", "As of"),
    "chart_title": ("近24个月医保个人账户余额", "Personal account balance, last 24 months"),
    "credited": ("划入", "credited"),
    "spent": ("支出", "spent"),
    "legend_credit": ("▲ 绿色：当月有划入", "▲ green: money credited that month"),
    "legend_spend": ("▼ 红色：当月有支出", "▼ red: money spent that month"),
    "why_balance": ("为什么余额是这样？", "Why is my balance what it is?"),
    "no_findings": ("没有发现异常。", "Nothing unusual was found."),
    "evidence": ("依据的记录", "Evidence"),
    "legal_basis": ("法律政策依据", "Legal or policy basis"),
    "next_step": ("下一步", "What to do next"),
    "payment_records": ("缴费记录", "Payment records"),
    "paid_by": ("缴费单位", "Paid by"),
    "self": ("个人", "self"),
    "insurances": ("险种", "Insurances"),
    "base": ("缴费基数", "Base"),
    "credit": ("划入个人账户", "Credited"),
    "credited_on": ("划入日期", "Credited on"),
    "not_credited": ("尚未划入", "not yet"),
    "spending": ("消费记录", "Spending"),
    "institution": ("定点机构", "Institution"),
    "account_paid": ("个人账户支付", "Personal account paid"),
    "cash_paid": ("现金支付", "Paid in cash"),
    "fund_paid": ("统筹基金支付", "Pooled fund paid"),
    "refunded": ("已退款", "refunded"),
    "for_family": ("为家人支付", "for a family member"),
    "items": ("项目", "Items"),
    "family": ("家庭共济", "Family mutual aid"),
    "family_note": (
        "绑定后，您的医保个人账户可以为家人支付医疗费用。",
        "Once bound, your personal account may pay your family members' bills.",
    ),
    "member": ("家庭成员身份证号", "Family member's ID number"),
    "relation": ("关系", "Relation"),
    "bound_on": ("绑定日期", "Bound on"),
    "unbound_on": ("解绑日期", "Unbound on"),
    "bind": ("绑定", "Bind"),
    "unbind": ("解绑", "Unbind"),
    "pays_for": ("我为其支付", "I pay for"),
    "paid_for_by": ("为我支付", "Pays for me"),
    "spouse": ("配偶", "spouse"),
    "parent": ("父母", "parent"),
    "child": ("子女", "child"),
    "ecard": ("医保电子凭证", "Electronic card"),
    "ecard_title": ("医保电子凭证二维码", "Electronic card QR code"),
    "ecard_note": (
        "在药店出示此二维码付款，{minutes} 分钟内有效，只能使用一次。",
        "Show this QR code at the pharmacy: good for {minutes} minutes and one sale.",
    ),
    "show_ecard": ("显示电子凭证", "Show the electronic card"),
    "statements": ("年度对账单", "Yearly statements"),
    "download_pdf": ("下载 PDF", "Download PDF"),
    "card": ("社保卡", "Social security card"),
    "no_card": ("尚未办理社保卡", "No card yet"),
    "card_status_issued": ("已制卡，未激活", "issued, not activated"),
    "card_status_active": ("正常", "active"),
    "card_status_lost": ("已挂失", "reported lost"),
    "done_bound": ("已绑定。", "Bound."),
    "done_unbound": ("已解绑。", "Unbound."),
    # the employer
    "employer_portal": ("单位网厅", "Employer portal"),
    "employees": ("职工", "Employees"),
    "art58_note": (
        "《社会保险法》第五十八条：用人单位应当自用工之日起三十日内为职工申请办理社会保险登记。",
        "Social Insurance Law art. 58: the employer registers an employee within 30 days of "
        "hiring.",
    ),
    "hired_on": ("入职日期", "Hired on"),
    "deadline": ("登记截止", "Deadline"),
    "registered_on": ("登记日期", "Registered on"),
    "registration": ("参保登记", "Registration"),
    "registration_on_time": ("按时登记", "on time"),
    "registration_late": ("逾期登记", "late"),
    "registration_missing": ("未登记（已逾期）", "missing (deadline passed)"),
    "registration_due": ("待登记", "due"),
    "days_late": ("逾期 {days} 天", "{days} days late"),
    "left_on": ("离职", "left"),
    "declare": ("申报本月缴费", "Declare a month's contributions"),
    "declare_submit": ("为以上职工申报", "Declare for these employees"),
    "declared_month": ("{month} 的缴费已申报。", "Contributions for {month} declared."),
    "declared_paid": ("申报与缴费（按月、按险种）", "Declared and paid, by month and insurance"),
    "persons_paid": ("缴费人数", "Persons paid"),
    "medical_employer": ("医保单位缴费", "Medical, employer"),
    "medical_person": ("医保个人缴费", "Medical, employee"),
    "lacking_medical": ("缺医保的职工", "Employees without medical"),
    "insurance_pension": ("养老", "pension"),
    "insurance_medical": ("医疗", "medical"),
    "insurance_unemployment": ("失业", "unemployment"),
    "insurance_injury": ("工伤", "work injury"),
    "insurance_maternity": ("生育", "maternity"),
}


def translator(lang: str) -> Callable[..., str]:
    index = 0 if lang == "zh" else 1

    def t(key: str, **values: object) -> str:
        text = WORDS[key][index]
        return text.format(**values) if values else text

    return t


def yuan(fen: int) -> str:
    return fen_to_yuan(fen)
