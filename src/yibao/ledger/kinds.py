"""What a transfer is: one name for each kind, wherever transfers are posted or read."""

from __future__ import annotations

from enum import StrEnum


class TransferKind(StrEnum):
    CONTRIBUTION = "contribution"  # a payment's medical parts into the pooled fund
    CREDITING = "crediting"  # a contribution's credit to the personal account
    RETIREE_CREDITING = "retiree_crediting"  # a retiree's fixed monthly credit
    SETTLEMENT = "settlement"  # the personal account pays at an institution
    FAMILY_SETTLEMENT = "family_settlement"  # ... for a bound family member
    FUND_SETTLEMENT = "fund_settlement"  # the pooled fund pays its share of a bill
    CLEARING = "clearing"  # an institution's payable paid out
    DEPOSIT = "deposit"  # into a card's financial account
    WITHDRAWAL = "withdrawal"
    BANK_TRANSFER = "bank_transfer"
    RECORDS_MERGE = "records_merge"  # two records of one person merged in one area
    RECORDS_TRANSFER_OUT = "records_transfer_out"  # merged across areas: out of the old book
    RECORDS_TRANSFER_IN = "records_transfer_in"  # ... into the new one
    # a bill settled in another planning area (异地就医): in the insured area's book the personal
    # account pays the inter-area account of the treating area; in the treating area's book
    # the insured area's inter-area account pays the institution's payable
    INTER_AREA_SETTLEMENT = "inter_area_settlement"
    # what one area owed another for a period's cross-area bills, paid: the insured area's
    # inter-area payable against its settlement clearing account, and the treating area's
    # receivable against its own
    INTER_AREA_CLEARING = "inter_area_clearing"


SPENDING = (TransferKind.SETTLEMENT, TransferKind.FAMILY_SETTLEMENT)
CREDITS = (TransferKind.CREDITING, TransferKind.RETIREE_CREDITING)


def reversal(kind: str) -> str:
    """The kind of the transfer that undoes one of `kind` (a refund of a sale, say)."""
    return f"reversal:{kind}"
