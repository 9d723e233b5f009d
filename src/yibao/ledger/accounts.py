"""The books and the accounts in them.

Each planning area has a medical insurance book; the cards' financial accounts live in one
separate bank book. No transfer ever joins two books.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

BANK_BOOK = "bank"


def medical_book(area_code: str) -> str:
    return f"medical:{area_code}"


class AccountKind(StrEnum):
    CONTRIBUTION_INCOME = "contribution_income"  # money received from payers (a source)
    POOLED_FUND = "pooled_fund"  # 统筹基金
    PERSONAL = "personal"  # 个人账户 of one insured person
    PAYABLE = "payable"  # owed to one designated institution
    SETTLEMENT_CLEARING = "settlement_clearing"  # paid out to institutions
    BANK_CASH = "bank_cash"  # cash in and out of the bank's counters and ATMs
    FINANCIAL = "financial"  # a card's financial (bank) account
    INTER_AREA = "inter_area"  # balances moved to or from another area's book (转移接续)


# A payable may go below zero: a refund after the institution was paid is owed back by it.
NO_OVERDRAFT = frozenset({AccountKind.PERSONAL, AccountKind.FINANCIAL})


@dataclass(frozen=True, slots=True)
class AccountRef:
    """Names an account: opened on first use."""

    book: str
    kind: AccountKind
    owner: str = ""  # person id, institution code, or "" for the book's own accounts
    owner_person_id: int | None = None

    @property
    def code(self) -> str:
        return f"{self.kind}:{self.owner}" if self.owner else str(self.kind)

    @property
    def allow_negative(self) -> bool:
        return self.kind not in NO_OVERDRAFT


def personal_account(area_code: str, person_id: int) -> AccountRef:
    return AccountRef(medical_book(area_code), AccountKind.PERSONAL, str(person_id), person_id)


def financial_account(person_id: int) -> AccountRef:
    return AccountRef(BANK_BOOK, AccountKind.FINANCIAL, str(person_id), person_id)


def pooled_fund(area_code: str) -> AccountRef:
    return AccountRef(medical_book(area_code), AccountKind.POOLED_FUND)


def contribution_income(area_code: str) -> AccountRef:
    return AccountRef(medical_book(area_code), AccountKind.CONTRIBUTION_INCOME)


def institution_payable(area_code: str, institution_code: str) -> AccountRef:
    return AccountRef(medical_book(area_code), AccountKind.PAYABLE, institution_code)


def settlement_clearing(area_code: str) -> AccountRef:
    return AccountRef(medical_book(area_code), AccountKind.SETTLEMENT_CLEARING)


def inter_area(area_code: str, other_area: str) -> AccountRef:
    """The area's account with another area: what it owes it (credit) or is owed (debit)."""
    return AccountRef(medical_book(area_code), AccountKind.INTER_AREA, other_area)


def bank_cash() -> AccountRef:
    return AccountRef(BANK_BOOK, AccountKind.BANK_CASH)
