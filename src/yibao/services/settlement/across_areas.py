"""A bill settled in another planning area (异地就医), with one database per area.

A person insured in area A buys at an institution of area B. A's book pays: the personal account
pays what it may (up to its balance) to A's inter-area account of B, a payable to B. B's book
records the same amount owed to its institution and owed to it by A, through B's inter-area
account of A, a receivable. Each book balances on its own, no transfer joins the two, and B's
receivable from A equals A's payable to B: the position the areas clear between them.

The two databases commit one after the other: A's side first, then B's, each keyed by the bill
(treating area, institution, reference), so a retry after a crash between them finds A's side
written and completes B's; the same bill with other content is refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from yibao.adapters.tables import InterAreaBill
from yibao.domain.errors import Conflict, InvalidInput
from yibao.domain.idnumber import IdNumber
from yibao.ledger import accounts
from yibao.ledger.kinds import TransferKind
from yibao.services.areas import AreaDatabases
from yibao.services.registry import fields, institution_by_code, person_by_id_number
from yibao.services.uow import UnitOfWork

INSURED, TREATING = "insured", "treating"


@dataclass(frozen=True, slots=True)
class CrossAreaBill:
    id_number: str  # the insured person's
    insured_area: str
    institution_code: str  # of the treating area
    ref: str  # the institution's bill reference
    total_fen: int  # what the personal account may pay of the bill
    on: dt.date


@dataclass(frozen=True, slots=True)
class CrossAreaReceipt:
    insured_area: str
    treating_area: str
    institution_code: str
    ref: str
    patient: str  # masked ID number
    total_fen: int
    personal_fen: int  # paid by the personal account in the insured area's book
    own_fen: int  # the person pays the rest
    bill_id: int = 0  # the insured area's record of the bill
    balance_after_fen: int = 0  # the personal account's, once the bill was paid


def settle_across_areas(*, areas: AreaDatabases, bill: CrossAreaBill) -> CrossAreaReceipt:
    """Settle `bill` in both areas' books, the insured area's first; safe to retry."""
    fields.ref(bill.ref)
    if bill.total_fen <= 0:
        raise InvalidInput("total", bill.total_fen, "must be above 0 fen")
    treating_area = areas.area_of_institution(bill.institution_code)
    if treating_area == bill.insured_area:
        raise InvalidInput(
            "institution", bill.institution_code, "is in the insured area: settle it there"
        )
    id_number = IdNumber.parse(bill.id_number).value
    with areas.uow(bill.insured_area) as uow:
        insured = _insured_side(uow, bill, id_number, treating_area)
        paid = insured.personal_fen
        balance_after = uow.ledger.balance_of(
            accounts.personal_account(bill.insured_area, int(insured.person_id or 0))
        )
    with areas.uow(treating_area) as uow:
        _treating_side(uow, bill, id_number, treating_area, paid)
    return CrossAreaReceipt(
        insured_area=bill.insured_area,
        treating_area=treating_area,
        institution_code=bill.institution_code,
        ref=bill.ref,
        patient=IdNumber.parse(id_number).masked,
        total_fen=bill.total_fen,
        personal_fen=paid,
        own_fen=bill.total_fen - paid,
        bill_id=insured.id,
        balance_after_fen=balance_after,
    )


def _insured_side(
    uow: UnitOfWork, bill: CrossAreaBill, id_number: str, treating: str
) -> InterAreaBill:
    """The personal account pays the treating area; returns the bill as first recorded."""
    person = person_by_id_number(uow=uow, id_number=id_number)
    if person.area_code != bill.insured_area:
        raise InvalidInput("insured_area", bill.insured_area, "is not the person's insured area")
    found = _recorded(uow, INSURED, treating, bill)
    if found is not None:
        _same_bill(found, bill, id_number)
        return found
    personal = accounts.personal_account(person.area_code, person.id)
    paid = min(max(uow.ledger.locked_balance(personal), 0), bill.total_fen)
    row = _row(INSURED, bill, id_number, (bill.insured_area, treating), paid, person.id)
    uow.session.add(row)
    uow.session.flush()
    if paid:
        uow.ledger.transfer(
            key=f"inter-area-out:{_bill_key(treating, bill)}",
            debit=personal,
            credit=accounts.inter_area(bill.insured_area, treating),
            amount_fen=paid,
            value_date=bill.on,
            kind=TransferKind.INTER_AREA_SETTLEMENT,
            memo=f"{bill.institution_code} {bill.ref} ({treating})",
        )
    return row


def _treating_side(
    uow: UnitOfWork, bill: CrossAreaBill, id_number: str, treating: str, paid: int
) -> None:
    """The institution is owed what the personal account paid, by the insured area."""
    institution = institution_by_code(uow=uow, code=bill.institution_code)
    found = _recorded(uow, TREATING, bill.insured_area, bill)
    if found is not None:
        _same_bill(found, bill, id_number)
        return
    uow.session.add(_row(TREATING, bill, id_number, (treating, bill.insured_area), paid, None))
    uow.session.flush()
    if paid:
        uow.ledger.transfer(
            key=f"inter-area-in:{_bill_key(bill.insured_area, bill)}",
            debit=accounts.inter_area(treating, bill.insured_area),
            credit=accounts.institution_payable(treating, institution.code),
            amount_fen=paid,
            value_date=bill.on,
            kind=TransferKind.INTER_AREA_SETTLEMENT,
            memo=f"{bill.institution_code} {bill.ref} ({bill.insured_area})",
        )


def _bill_key(other_area: str, bill: CrossAreaBill) -> str:
    """The bill as both books key it: the other area, the institution, its reference."""
    return f"{other_area}:{bill.institution_code}:{bill.ref}"


def _recorded(
    uow: UnitOfWork, side: str, other_area: str, bill: CrossAreaBill
) -> InterAreaBill | None:
    return uow.session.scalars(
        select(InterAreaBill).where(
            InterAreaBill.side == side,
            InterAreaBill.other_area == other_area,
            InterAreaBill.institution_code == bill.institution_code,
            InterAreaBill.ref == bill.ref,
        )
    ).one_or_none()


def _same_bill(found: InterAreaBill, bill: CrossAreaBill, id_number: str) -> None:
    if (found.id_number, found.total_fen, found.settled_on) != (
        id_number,
        bill.total_fen,
        bill.on,
    ):
        raise Conflict(
            f"bill {bill.ref} of {bill.institution_code} was settled before with other content"
        )


def _row(
    side: str,
    bill: CrossAreaBill,
    id_number: str,
    areas: tuple[str, str],
    paid: int,
    person_id: int | None,
) -> InterAreaBill:
    """The bill as the book of `areas[0]` records it; `areas[1]` is the other side's area."""
    return InterAreaBill(
        side=side,
        area_code=areas[0],
        other_area=areas[1],
        institution_code=bill.institution_code,
        ref=bill.ref,
        person_id=person_id,
        id_number=id_number,
        settled_on=bill.on,
        total_fen=bill.total_fen,
        personal_fen=paid,
    )
