"""Refunding a bill settled in another planning area, whole and once.

The insured area's book first: its fund and the personal account get back what they paid (the
year's pooled usage with them), reversing their postings to the inter-area account. Then the
treating area's book: the institution's payable goes down against its receivable from the
insured area. A retry after a crash between the two finds the insured side refunded and
completes the treating side. A bill the areas have cleared between them is not refunded here:
the money has moved between the funds, and giving it back is a matter for the next clearing's
adjustment between the two agencies.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from yibao.adapters.tables import InterAreaBill
from yibao.domain.errors import Conflict
from yibao.domain.idnumber import mask
from yibao.domain.pooled import Visit
from yibao.ledger import accounts
from yibao.ledger.rules import value_date_refusal
from yibao.services.areas import AreaDatabases
from yibao.services.settlement import AlreadyRefunded, RefundBeforeSale, UnknownRef
from yibao.services.settlement.across_areas import INSURED, TREATING, CrossAreaReceipt
from yibao.services.settlement.pooled import add_usage
from yibao.services.uow import UnitOfWork


def treating_bill(*, uow: UnitOfWork, institution_code: str, ref: str) -> InterAreaBill | None:
    """The treating area's record of a bill its institution settled for another area."""
    return uow.session.scalars(
        select(InterAreaBill)
        .where(
            InterAreaBill.side == TREATING,
            InterAreaBill.institution_code == institution_code,
            InterAreaBill.ref == ref,
        )
        .with_for_update()
    ).one_or_none()


def insured_record(
    *,
    uow: UnitOfWork,
    treating_area: str,
    institution_code: str,
    ref: str | None = None,
    bill_id: int | None = None,
) -> InterAreaBill | None:
    """The insured area's record of a bill of the institution (of `treating_area`), by the
    institution's reference or by the record's own id (what the bill's answer names)."""
    assert ref is not None or bill_id is not None
    query = select(InterAreaBill).where(
        InterAreaBill.side == INSURED,
        InterAreaBill.other_area == treating_area,
        InterAreaBill.institution_code == institution_code,
    )
    if ref is not None:
        query = query.where(InterAreaBill.ref == ref)
    if bill_id is not None:
        query = query.where(InterAreaBill.id == bill_id)
    return uow.session.scalars(query).one_or_none()


def refund_across_areas(
    *, areas: AreaDatabases, treating_uow: UnitOfWork, institution_code: str, ref: str, on: dt.date
) -> CrossAreaReceipt:
    """Refund the bill `ref` of the institution, in both areas' books; `treating_uow` is the
    treating area's unit of work, which writes its side (with the caller's own records)."""
    bill = treating_bill(uow=treating_uow, institution_code=institution_code, ref=ref)
    if bill is None:
        raise UnknownRef(f"no settlement with reference {ref!r} at {institution_code}")
    if bill.refunded_on is not None:
        raise AlreadyRefunded(f"settlement {ref!r} was already refunded on {bill.refunded_on}")
    _require_refundable(treating_uow, bill, on)
    with areas.uow(bill.other_area) as uow:
        insured = uow.session.scalars(
            select(InterAreaBill)
            .where(
                InterAreaBill.side == INSURED,
                InterAreaBill.other_area == bill.area_code,
                InterAreaBill.institution_code == institution_code,
                InterAreaBill.ref == ref,
            )
            .with_for_update()
        ).one()
        if insured.refunded_on is None:
            _require_refundable(uow, insured, on)
            _give_back(uow, insured, on, (insured.area_code, bill.area_code))
        person_id = int(insured.person_id or 0)
        balance = uow.ledger.balance_of(accounts.personal_account(insured.area_code, person_id))
    _give_back(treating_uow, bill, on, (bill.other_area, bill.area_code))
    return CrossAreaReceipt(
        insured_area=bill.other_area,
        treating_area=bill.area_code,
        institution_code=institution_code,
        ref=ref,
        patient=mask(bill.id_number),
        total_fen=bill.total_fen,
        personal_fen=bill.personal_fen,
        own_fen=bill.total_fen - bill.personal_fen - bill.fund_fen,
        bill_id=insured.id,
        balance_after_fen=balance,
        fund_fen=bill.fund_fen,
        deductible_fen=bill.deductible_fen,
        visit=bill.visit or str(Visit.PHARMACY),
    )


def _require_refundable(uow: UnitOfWork, bill: InterAreaBill, on: dt.date) -> None:
    if bill.cleared_in is not None:
        raise Conflict(
            f"bill {bill.ref!r} of {bill.institution_code} was cleared between the areas in "
            f"{bill.cleared_in}: it is not refunded at the counter"
        )
    if on < bill.settled_on:
        raise RefundBeforeSale(
            "on", on.isoformat(), f"is before the bill {bill.ref!r} it refunds ({bill.settled_on})"
        )
    refusal = value_date_refusal(on, today=uow.today(), last_posted_on=None, account="", field="on")
    if refusal is not None:
        raise refusal


def _give_back(uow: UnitOfWork, bill: InterAreaBill, on: dt.date, pair: tuple[str, str]) -> None:
    """Reverse this book's postings of the bill; `pair` is (insured area, treating area)."""
    insured, treating = pair
    direction = ("out", treating) if bill.side == INSURED else ("in", insured)
    key = f"{direction[1]}:{bill.institution_code}:{bill.ref}"
    for paid, leg in ((bill.personal_fen, "inter-area"), (bill.fund_fen, "inter-area-fund")):
        if paid > 0:
            uow.ledger.reverse(
                original_key=f"{leg}-{direction[0]}:{key}",
                key=f"{leg}-refund-{direction[0]}:{key}",
                value_date=on,
                memo=f"refund {bill.institution_code} {bill.ref}",
            )
    if bill.side == INSURED and bill.visit not in (None, str(Visit.PHARMACY)):
        assert bill.person_id is not None
        add_usage(  # the usage of the bill's year, taken back
            uow=uow,
            person_id=bill.person_id,
            visit=Visit(str(bill.visit)),
            on=bill.settled_on,
            eligible=-(bill.eligible_fen if bill.eligible_fen is not None else bill.total_fen),
            fund=-bill.fund_fen,
        )
    bill.refunded_on = on
    uow.session.flush()
