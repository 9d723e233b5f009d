"""The demo city's showcase: persons whose records give every page something to show.

The synthetic city (`generate_city`) is large and anonymous; these few are written one by one
through the services, each with a story a clerk would recognise: a finding of the explainer, a
card in each state, sales, a refund, family mutual aid. Their ID numbers are fixed (region
420101, which the synthetic districts never use), so a login page can name them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from yibao.domain.channels import Channel
from yibao.domain.idnumber import make_id_number

D = dt.date
REGION = "420101"
PIN = "246810"  # every showcase card's PIN (the locked card's too, once reset)
EMPLOYER = "SHOWCASE01"
# the city's window (demo run: 2022-10 to 2023-09) is credited before the sales of October
AFTER_CREDITING = D(2023, 10, 31)


@dataclass(frozen=True, slots=True)
class DemoPerson:
    """A showcase person: what they show, asked on `as_of` through `channel`."""

    key: str
    id_number: str
    name: str
    shows: str
    findings: tuple[str, ...]  # explainer codes present on `as_of` through `channel`
    as_of: dt.date = AFTER_CREDITING
    channel: str = Channel.WEB
    card_no: str | None = None


def _id(born: dt.date, sequence: int) -> str:
    return make_id_number(REGION, born, sequence)


SHOWCASE: tuple[DemoPerson, ...] = (
    DemoPerson(
        "payer",
        _id(D(1985, 4, 12), 11),
        "张伟",
        "employee after the reform; card active with a bank deposit; sales, one refunded; "
        "pays for his wife (family mutual aid)",
        ("balance_spent", "family_spending", "reform_employer_share_not_credited"),
        card_no="SC0001",
    ),
    DemoPerson(
        "payer_at_atm",
        _id(D(1985, 4, 12), 11),
        "张伟",
        "the same person at an ATM: the bank account, not the medical one",
        ("financial_account_queried",),
        channel=Channel.ATM,
        card_no="SC0001",
    ),
    DemoPerson(
        "spouse",
        _id(D(1987, 8, 3), 22),
        "李娜",
        "resident (no personal account); her pharmacy bill paid from her husband's account",
        ("no_personal_account_resident",),
        card_no="SC0002",
    ),
    DemoPerson(
        "pooled_only",
        _id(D(1992, 1, 15), 31),
        "王芳",
        "employee with hospitalization-only cover",
        ("no_personal_account_pooled_only",),
    ),
    DemoPerson(
        "flexible_basic",
        _id(D(1990, 6, 30), 41),
        "刘洋",
        "flexible worker on the basic tier",
        ("no_personal_account_flexible_tier",),
    ),
    DemoPerson(
        "split_records",
        _id(D(1988, 11, 2), 52),
        "陈静",
        "records under a second ID number, linked and not merged yet",
        ("records_split",),
    ),
    DemoPerson(
        "medical_left_out",
        _id(D(1983, 2, 14), 61),
        "杨磊",
        "employer paid only the pension insurance for three months",
        ("medical_not_paid",),
    ),
    DemoPerson(
        "not_registered",
        _id(D(1998, 9, 9), 71),
        "赵敏",
        "hired in August, never registered by the employer",
        ("not_registered",),
    ),
    DemoPerson(
        "late_registration",
        _id(D(1994, 3, 21), 81),
        "黄强",
        "registered 75 days after hiring",
        ("late_registration",),
    ),
    DemoPerson(
        "stopped",
        _id(D(1979, 7, 7), 91),
        "周婷",
        "contributions stopped after April 2023",
        ("contributions_stopped",),
    ),
    DemoPerson(
        "pending",
        _id(D(1996, 12, 1), 101),
        "吴刚",
        "paid on 12 September, asked before the month-end crediting",
        ("crediting_pending",),
        as_of=D(2023, 9, 20),
    ),
    DemoPerson(
        "card_issued",
        _id(D(1991, 5, 5), 111),
        "徐丽",
        "card issued, not activated",
        ("card_not_activated",),
        card_no="SC0011",
    ),
    DemoPerson(
        "card_lost",
        _id(D(1986, 10, 10), 121),
        "孙浩",
        "card reported lost (frozen)",
        ("card_reported_lost",),
        card_no="SC0012",
    ),
    DemoPerson(
        "card_replaced",
        _id(D(1982, 8, 18), 131),
        "马超",
        "card lost in March and replaced; a sale with the new card",
        ("balance_spent",),
        card_no="SC0013R",
    ),
    DemoPerson(
        "card_locked",
        _id(D(1989, 4, 4), 141),
        "朱琳",
        "card locked after wrong PINs",
        ("reform_employer_share_not_credited",),
        card_no="SC0014",
    ),
    DemoPerson(
        "retiree",
        _id(D(1955, 1, 20), 151),
        "胡军",
        "retiree with the fixed monthly credit",
        ("retiree_fixed_credit",),
    ),
    DemoPerson(
        "no_records",
        _id(D(2000, 2, 29), 161),
        "郭芳",
        "no employment, enrolment or contribution on record",
        ("no_records",),
    ),
)

# 陈静's older record, under another number, holding her employee months
SPLIT_OTHER = _id(D(1988, 11, 2), 53)


# persons the showcase adds to the city: each ID number once, and 陈静's other record
SHOWCASE_PERSONS = len({p.id_number for p in SHOWCASE}) + 1


def showcase_person(key: str) -> DemoPerson:
    return next(p for p in SHOWCASE if p.key == key)
