"""The yearly statement of a personal account, from plain values.

Social Insurance Law art. 74: the agency records each person's contributions and benefits and
sends them their record periodically, free of charge. The statement shows a calendar year month
by month: the contributions paid for the month, what was credited to the personal account, what
the account paid for the person and, through family mutual aid, for others, refunds, and the
balance at each month end. Every movement of the account falls in exactly one column, so the
opening balance plus the year's movements is always the closing balance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

from yibao.domain.errors import InvalidInput
from yibao.domain.idnumber import mask
from yibao.domain.months import Month

CREDIT_KINDS = frozenset({"crediting", "retiree_crediting"})
OWN_SPENDING_KIND = "settlement"
FAMILY_SPENDING_KIND = "family_settlement"
REFUND_KINDS = frozenset({f"reversal:{OWN_SPENDING_KIND}", f"reversal:{FAMILY_SPENDING_KIND}"})
FIRST_YEAR, LAST_YEAR = 1900, 9999


@dataclass(frozen=True, slots=True)
class AccountMovement:
    """One posting on the personal account, signed from the account's side (in is positive)."""

    value_date: dt.date
    kind: str
    amount_fen: int


@dataclass(frozen=True, slots=True)
class ContributionPaid:
    """A payment for a month (or a resident's year starting that month)."""

    month: Month
    through_month: Month
    received_on: dt.date
    insurances: tuple[str, ...]
    base_fen: int | None  # None for residents, who pay a flat premium
    medical_employer_fen: int
    medical_person_fen: int
    credit_fen: int  # what the personal account earns from it

    @property
    def medical_fen(self) -> int:
        return self.medical_employer_fen + self.medical_person_fen


@dataclass(frozen=True, slots=True)
class MonthRow:
    month: Month
    contributions: tuple[ContributionPaid, ...]  # paid for this month, whenever received
    credited_fen: int  # crediting and retiree crediting, into the account
    spent_fen: int  # settlements for the person, out of the account
    family_aid_fen: int  # settlements for bound family members, out of the account
    refunds_fen: int  # settlements reversed, back into the account
    other_fen: int  # any other posting, signed
    balance_end_fen: int
    covered_by: Month | None = None  # paid by a payment for several months starting then
    retired: bool = False  # a retiree pays nothing: a month without payment is not unpaid

    @property
    def net_fen(self) -> int:
        return (
            self.credited_fen
            - self.spent_fen
            - self.family_aid_fen
            + self.refunds_fen
            + self.other_fen
        )


@dataclass(frozen=True, slots=True)
class YearTotals:
    medical_employer_fen: int
    medical_person_fen: int
    credited_fen: int
    spent_fen: int
    family_aid_fen: int
    refunds_fen: int
    other_fen: int

    @property
    def medical_fen(self) -> int:
        return self.medical_employer_fen + self.medical_person_fen


@dataclass(frozen=True, slots=True)
class YearStatement:
    person_name: str
    masked_id: str  # the full ID number never enters a statement
    area_code: str
    area_name: str
    year: int
    issued_on: dt.date
    opening_balance_fen: int  # at the end of 31 December of the year before
    closing_balance_fen: int  # at the end of 31 December of the year
    rows: tuple[MonthRow, ...]  # January to December
    has_personal_account: bool = True  # False: e.g. a resident, whose scheme has none
    fund_paid_fen: int = 0  # what the pooled fund paid for the person's bills that year

    @property
    def totals(self) -> YearTotals:
        paid = [c for row in self.rows for c in row.contributions]
        return YearTotals(
            medical_employer_fen=sum(c.medical_employer_fen for c in paid),
            medical_person_fen=sum(c.medical_person_fen for c in paid),
            credited_fen=sum(row.credited_fen for row in self.rows),
            spent_fen=sum(row.spent_fen for row in self.rows),
            family_aid_fen=sum(row.family_aid_fen for row in self.rows),
            refunds_fen=sum(row.refunds_fen for row in self.rows),
            other_fen=sum(row.other_fen for row in self.rows),
        )

    @property
    def balances_fen(self) -> tuple[int, ...]:
        """The opening balance, then each month-end balance: 13 points for the chart."""
        return (self.opening_balance_fen, *(row.balance_end_fen for row in self.rows))


def check_year(year: int) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput("year", year, f"is not a year between {FIRST_YEAR} and {LAST_YEAR}")
    return year


def year_statement_from(
    *,
    person_name: str,
    id_number: str,
    area_code: str,
    area_name: str,
    year: int,
    issued_on: dt.date,
    opening_balance_fen: int,
    movements: Iterable[AccountMovement],
    contributions: Iterable[ContributionPaid],
    has_personal_account: bool = True,
    fund_paid_fen: int = 0,
    retiree_months: Iterable[Month] = (),
) -> YearStatement:
    """The statement of `year` from the balance before it and the year's records.

    A payment sits under the month it paid for, whenever it was received (back pay too); the
    later months a payment covers (a resident's year) say which payment covered them.
    """
    check_year(year)
    moves: dict[int, list[AccountMovement]] = {m: [] for m in range(1, 13)}
    for movement in movements:
        if movement.value_date.year != year:
            raise InvalidInput("movement", str(movement.value_date), f"is not in {year}")
        moves[movement.value_date.month].append(movement)
    paid: dict[int, list[ContributionPaid]] = {m: [] for m in range(1, 13)}
    covered: dict[int, Month] = {}
    for contribution in contributions:
        first, last = contribution.month, contribution.through_month
        if not first.year <= year <= last.year:
            raise InvalidInput("contribution", str(contribution.month), f"is not for {year}")
        if first.year == year:
            paid[first.month].append(contribution)
        for index in range(first.index + 1, last.index + 1):
            month = Month.from_index(index)
            if month.year == year:
                covered.setdefault(month.month, first)
    retired = {m.month for m in retiree_months if m.year == year}
    rows, balance = [], opening_balance_fen
    for number in range(1, 13):
        row = _month_row(Month(year, number), moves[number], paid[number], balance)
        row = replace(row, covered_by=covered.get(number), retired=number in retired)
        rows.append(row)
        balance = row.balance_end_fen
    return YearStatement(
        person_name=person_name,
        masked_id=mask(id_number),
        area_code=area_code,
        area_name=area_name,
        year=year,
        issued_on=issued_on,
        opening_balance_fen=opening_balance_fen,
        closing_balance_fen=balance,
        rows=tuple(rows),
        has_personal_account=has_personal_account,
        fund_paid_fen=fund_paid_fen,
    )


def _month_row(
    month: Month,
    movements: list[AccountMovement],
    contributions: list[ContributionPaid],
    balance_before_fen: int,
) -> MonthRow:
    credited = spent = family = refunds = other = 0
    for movement in movements:
        if movement.kind in CREDIT_KINDS:
            credited += movement.amount_fen
        elif movement.kind == OWN_SPENDING_KIND:
            spent -= movement.amount_fen
        elif movement.kind == FAMILY_SPENDING_KIND:
            family -= movement.amount_fen
        elif movement.kind in REFUND_KINDS:
            refunds += movement.amount_fen
        else:
            other += movement.amount_fen
    change = sum(movement.amount_fen for movement in movements)
    ordered = sorted(contributions, key=lambda c: (c.received_on, c.insurances))
    return MonthRow(
        month=month,
        contributions=tuple(ordered),
        credited_fen=credited,
        spent_fen=spent,
        family_aid_fen=family,
        refunds_fen=refunds,
        other_fen=other,
        balance_end_fen=balance_before_fen + change,
    )
