"""Writing one POS sale: lock the patient's pooled usage and the paying account, split the bill
into the fund's, the account's and cash, write the rows and the postings.

On PostgreSQL the steps run in one server call, the ledger's `post_settlement` function
(`ledger/sql/post_settlement.sql`): statement by statement they took nine round trips, and the
per-statement work of this process and of the server was most of a sale's cost. Elsewhere they
run here, one by one, in the same transaction, the transfers through `Ledger.transfer`; an
electronic card sale records its payload's use in both. The same tests run on both backends;
`domain.pooled.fund_share`, `domain.settlement.split_bill` and `ledger.rules` are the rules
both apply. At a hospital or clinic the patient's `pooled_usage` row is locked before the
account, so two bills of one patient never both use the same deductible or cap room.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, insert

from yibao.adapters.db import insert_skipping_duplicates
from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import Settlement, SettlementLine
from yibao.domain.pooled import FundShare, Visit, fund_share
from yibao.domain.settlement import (
    LineItem,
    eligible_fen,
    line_values,
    split_bill,
    total_fen,
)
from yibao.ledger import settlement_function
from yibao.ledger.accounts import AccountRef
from yibao.ledger.errors import IdempotencyConflict
from yibao.ledger.kinds import TransferKind
from yibao.ledger.rules import value_date_refusal
from yibao.services import cards
from yibao.services.cards import electronic_card
from yibao.services.settlement.pooled import PooledTerms, add_usage, locked_usage
from yibao.services.uow import UnitOfWork

S = cast(Table, Settlement.__table__)
LINES = cast(Table, SettlementLine.__table__)

_INSERT_SETTLEMENT = HotStatement(  # a retried reference inserts nothing
    lambda dialect: (
        insert_skipping_duplicates(dialect, S).on_conflict_do_nothing().returning(S.c.id)
    )
)
_INSERT_LINES = HotStatement(insert(LINES))


@dataclass(frozen=True, slots=True)
class SaleToPost:
    """One settlement, its payer's personal account and its institution's payable."""

    institution_id: int
    ref: str
    payer_person_id: int
    patient_person_id: int
    card_id: int | None
    settled_on: dt.date
    fingerprint: str  # of the content: a retry must carry the same
    lines: tuple[LineItem, ...]
    account: AccountRef  # the payer's personal account
    payable: AccountRef  # the institution's payable in the payer's area
    transfer_key: str
    transfer_kind: str
    memo: str
    pooled: PooledTerms  # what the fund pays, and the national codes
    pool: AccountRef  # the area's pooled fund
    fund_key: str  # the fund's transfer to the payable
    evoucher_nonce: str | None = None  # the electronic card payload this sale spends
    pin: cards.PresentedPin | None = None  # PostgreSQL: the card's PIN, tried by the sale

    def spending(self, nonce: str) -> SaleToPost:
        """The same sale, paid with the electronic card payload `nonce` (spent with it)."""
        return dataclasses.replace(self, evoucher_nonce=nonce)


@dataclass(frozen=True, slots=True)
class Posted:
    settlement_id: int
    personal_fen: int  # what the personal account paid
    balance_after_fen: int
    fund_fen: int = 0  # what the pooled fund paid
    deductible_fen: int = 0  # the part of the bill the deductible took


def post_sale(uow: UnitOfWork, sale: SaleToPost) -> Posted | None:
    """The new settlement, or None if its institution and reference were settled before."""
    if uow.dialect == "postgresql":
        return _post_in_one_call(uow, sale)
    return _post_step_by_step(uow, sale)


def _post_in_one_call(uow: UnitOfWork, sale: SaleToPost) -> Posted | None:
    params = {
        **_settlement_values(sale),
        "book": sale.account.book,
        "account_code": sale.account.code,
        "payable_code": sale.payable.code,
        "lines": json.dumps([line_values(line) for line in sale.lines]),
        "transfer_key": sale.transfer_key,
        "transfer_kind": sale.transfer_kind,
        "memo": sale.memo,
        "today": uow.today(),
        "evoucher_nonce": sale.evoucher_nonce,
        "pool_code": sale.pool.code,
        "fund_key": sale.fund_key,
        "fund_kind": str(TransferKind.FUND_SETTLEMENT),
        "deductible_rule_fen": sale.pooled.terms.deductible_fen,
        "annual_cap_fen": sale.pooled.terms.annual_cap_fen,
        "pin_hash": None if sale.pin is None else sale.pin.pin_hash,
        "pin_max_tries": None if sale.pin is None else sale.pin.max_tries,
    }
    outcome, settlement_id, personal, balance_after, last, fund, deductible, tries = (
        settlement_function.call(uow.hot, params)
    )
    if outcome == "no_payable_account":  # the institution's first sale paid from this book
        uow.ledger.account_id(sale.payable)
        uow.ledger.account_id(sale.pool)
        outcome, settlement_id, personal, balance_after, last, fund, deductible, tries = (
            settlement_function.call(uow.hot, params)
        )
    if outcome in ("wrong_pin", "pin_not_tried"):
        assert sale.pin is not None
        cards.refuse_presented_pin(sale.pin, tries)
    if outcome == "value_date_refused":
        refusal = _date_refusal(uow, sale, last if personal > 0 else None)
        assert refusal is not None, (sale.settled_on, last)
        raise refusal
    if outcome == "transfer_key_taken":
        raise _key_taken(sale.transfer_key)
    if outcome == "evoucher_used":
        raise electronic_card.spent_by_another_sale()
    if outcome == "settled_before":
        return None
    assert outcome == "posted", outcome
    return Posted(int(settlement_id), int(personal), int(balance_after), int(fund), int(deductible))


def _post_step_by_step(uow: UnitOfWork, sale: SaleToPost) -> Posted | None:
    assert sale.pin is None  # the PIN was tried before: `cards.pin_checked`
    terms = sale.pooled.terms
    eligible = eligible_fen(sale.lines)
    share = FundShare(0, 0)
    if terms.visit is not Visit.PHARMACY:  # the patient's lock first, then the account's
        usage = locked_usage(
            uow=uow, person_id=sale.patient_person_id, visit=terms.visit, on=sale.settled_on
        )
        share = fund_share(terms, eligible_fen=eligible, usage=usage)
    standing = uow.ledger.locked_standing(sale.account)  # serializes sales paid by this account
    balance = standing.balance
    split = split_bill(
        total=total_fen(sale.lines), eligible=eligible, fund=share.fund_fen, balance=balance
    )
    personal = split.account_fen
    settlement_id = _INSERT_SETTLEMENT.scalar_or_none(
        uow.session,
        {
            **_settlement_values(sale),
            "personal_fen": personal,
            "own_fen": split.cash_fen,
            "balance_after_fen": balance - personal,
            "fund_fen": share.fund_fen,
            "deductible_fen": share.deductible_fen,
        },
    )
    if settlement_id is None:
        if sale.evoucher_nonce is not None:
            electronic_card.require_not_spent_by_another_sale(
                uow=uow, nonce=sale.evoucher_nonce, institution_id=sale.institution_id, ref=sale.ref
            )
        return None
    refusal = _date_refusal(uow, sale, standing.last_posted_on if personal > 0 else None)
    if refusal is not None:  # the transaction rolls back
        raise refusal
    _INSERT_LINES.write_many(
        uow.session,
        [{"settlement_id": settlement_id, **line_values(line)} for line in sale.lines],
    )
    for key, amount in ((sale.transfer_key, personal), (sale.fund_key, share.fund_fen)):
        if amount > 0 and uow.ledger.get(key) is not None:  # all rolls back
            raise _key_taken(key)  # posted before, and not by this new settlement
    if sale.evoucher_nonce is not None:
        electronic_card.spend(
            uow=uow,
            nonce=sale.evoucher_nonce,
            person_id=sale.patient_person_id,
            institution_id=sale.institution_id,
            ref=sale.ref,
            on=sale.settled_on,
        )
    if personal > 0:
        uow.ledger.transfer(
            key=sale.transfer_key,
            debit=sale.account,
            credit=sale.payable,
            amount_fen=personal,
            value_date=sale.settled_on,
            kind=sale.transfer_kind,
            memo=sale.memo,
        )
    add_usage(
        uow=uow,
        person_id=sale.patient_person_id,
        visit=terms.visit,
        on=sale.settled_on,
        eligible=eligible,
        fund=share.fund_fen,
    )
    if share.fund_fen > 0:
        uow.ledger.transfer(
            key=sale.fund_key,
            debit=sale.pool,
            credit=sale.payable,
            amount_fen=share.fund_fen,
            value_date=sale.settled_on,
            kind=TransferKind.FUND_SETTLEMENT,
            memo=sale.memo,
        )
    return Posted(
        int(settlement_id), personal, balance - personal, share.fund_fen, share.deductible_fen
    )


def _settlement_values(sale: SaleToPost) -> dict[str, object]:
    """The settlement row's columns known before the account's balance is."""
    terms, codes = sale.pooled.terms, sale.pooled.codes
    return {
        "visit": str(terms.visit),
        "ratio": str(terms.ratio),
        "insutype": codes.insutype,
        "psn_type": codes.psn_type,
        "med_type": codes.med_type,
        "clr_type": codes.clr_type,
        "institution_id": sale.institution_id,
        "ref": sale.ref,
        "payer_person_id": sale.payer_person_id,
        "patient_person_id": sale.patient_person_id,
        "card_id": sale.card_id,
        "settled_on": sale.settled_on,
        "fingerprint": sale.fingerprint,
        "total_fen": total_fen(sale.lines),
        "eligible_fen": eligible_fen(sale.lines),
    }


def _date_refusal(
    uow: UnitOfWork, sale: SaleToPost, last_posted_on: dt.date | None
) -> Exception | None:
    """No sale after today; none paid by the account before the account's last posting."""
    return value_date_refusal(
        sale.settled_on,
        today=uow.today(),
        last_posted_on=last_posted_on,
        account=f"the personal account {sale.account.code}",
        field="on",
    )


def _key_taken(key: str) -> IdempotencyConflict:
    return IdempotencyConflict(f"key {key!r} was used for another posting; use a new reference")
