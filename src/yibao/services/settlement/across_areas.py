"""A bill settled in another planning area (异地就医), with one database per area.

A person insured in area A buys at an institution of area B. A's book pays, under A's policy
(the same split as a home bill: `domain.pooled.fund_share`, then `domain.settlement.split_bill`):
A's pooled fund its share, then the personal account what it may of the rest (up to its
balance), both to A's inter-area account of B, a payable to B. B's book records the same amounts
owed to its institution and owed to it by A, through B's inter-area account of A, a
receivable. Each book balances on its own, no transfer joins the two, and B's receivable from A
equals A's payable to B: the position the areas clear between them (`inter_area_clearing`).

The two databases commit one after the other: A's side first, then B's, each keyed by the bill
(treating area, institution, reference), so a retry after a crash between them finds A's side
written and completes B's; the same bill with other content is refused. A's transaction claims
the reference first, against a reversal that would bar it (`across_areas_refs`).
`quote_across_areas` computes the same split and writes nothing (a pre-settlement).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from yibao.adapters.tables import InterAreaBill
from yibao.domain.errors import Conflict, InvalidInput, NotEnrolled
from yibao.domain.idnumber import IdNumber
from yibao.domain.pooled import FundShare, FundTerms, Visit, fund_share
from yibao.domain.settlement import BillSplit, split_bill
from yibao.ledger import accounts
from yibao.ledger.kinds import TransferKind
from yibao.services.areas import AreaDatabases
from yibao.services.registry import fields, institution_by_code, person_by_id_number
from yibao.services.settlement.across_areas_refs import (
    BARRED,
    SETTLED,
    ReversedBeforeSettled,
    claim_ref,
)
from yibao.services.settlement.pooled import (
    add_usage,
    insured_area_facts,
    locked_usage,
    terms_from_facts,
    usage_of,
)
from yibao.services.uow import UnitOfWork

INSURED, TREATING = "insured", "treating"


@dataclass(frozen=True, slots=True)
class CrossAreaBill:
    id_number: str  # the insured person's
    insured_area: str
    institution_code: str  # of the treating area
    ref: str  # the institution's bill reference
    total_fen: int  # the whole bill
    on: dt.date
    eligible_fen: int | None = None  # what the fund and the account may pay (None: all of it)
    visit: Visit | None = None  # None: pharmacy at a pharmacy, outpatient elsewhere
    require_scheme: bool = False  # refuse a person in no scheme on the day (not the content)

    @property
    def eligible(self) -> int:
        return self.total_fen if self.eligible_fen is None else self.eligible_fen


@dataclass(frozen=True, slots=True)
class _Place:
    """The treating institution as its area's database records it: what the fund's terms
    depend on (its kind and level)."""

    kind: str
    level: int


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
    fund_fen: int = 0  # paid by the insured area's pooled fund
    deductible_fen: int = 0  # the part of the eligible amount the deductible took
    visit: str = "pharmacy"
    ratio: str = "0"  # the fund's ratio under the insured area's terms (0: it pays nothing)


def settle_across_areas(*, areas: AreaDatabases, bill: CrossAreaBill) -> CrossAreaReceipt:
    """Settle `bill` in both areas' books, the insured area's first; safe to retry."""
    treating_area, id_number, place = _checked(areas, bill)
    with areas.uow(bill.insured_area) as uow:
        insured, ratio = _insured_side(uow, bill, id_number, treating_area, place)
        paid = insured.personal_fen
        balance_after = uow.ledger.balance_of(
            accounts.personal_account(bill.insured_area, int(insured.person_id or 0))
        )
    with areas.uow(treating_area) as uow:
        _treating_side(uow, bill, id_number, treating_area, insured)
    return _receipt(
        bill, treating_area, id_number, FundShare(insured.fund_fen, insured.deductible_fen),
        paid, balance_after, insured.visit or str(Visit.PHARMACY), ratio, bill_id=insured.id,
    )  # fmt: skip


def quote_across_areas(*, areas: AreaDatabases, bill: CrossAreaBill) -> CrossAreaReceipt:
    """What settling `bill` would pay now (a pre-settlement): the same split, nothing written
    in either book. `bill_id` is 0: no bill is recorded."""
    treating_area, id_number, place = _checked(areas, bill)
    with areas.uow(bill.insured_area) as uow:
        person_id = _insured_person(uow, bill, id_number)
        terms, share, split = _split(uow, bill, person_id, place, lock=False)
        balance = uow.ledger.balance_of(accounts.personal_account(bill.insured_area, person_id))
        uow.session.rollback()  # a quote leaves nothing behind
    return _receipt(
        bill, treating_area, id_number, share, split.account_fen, balance - split.account_fen,
        str(terms.visit), _ratio(terms),
    )  # fmt: skip


def _receipt(
    bill: CrossAreaBill,
    treating_area: str,
    id_number: str,
    share: FundShare,
    personal_fen: int,
    balance_after_fen: int,
    visit: str,
    ratio: str,
    *,
    bill_id: int = 0,
) -> CrossAreaReceipt:
    """The bill's receipt: the fund's share, the account's, and cash for the rest."""
    return CrossAreaReceipt(
        insured_area=bill.insured_area,
        treating_area=treating_area,
        institution_code=bill.institution_code,
        ref=bill.ref,
        patient=IdNumber.parse(id_number).masked,
        total_fen=bill.total_fen,
        personal_fen=personal_fen,
        own_fen=bill.total_fen - personal_fen - share.fund_fen,
        bill_id=bill_id,
        balance_after_fen=balance_after_fen,
        fund_fen=share.fund_fen,
        deductible_fen=share.deductible_fen,
        visit=visit,
        ratio=ratio,
    )


def _checked(areas: AreaDatabases, bill: CrossAreaBill) -> tuple[str, str, _Place]:
    """The bill's treating area, the person's ID number and the institution as its area's
    database records it; a bill that is not across areas is refused."""
    fields.ref(bill.ref)
    if bill.total_fen <= 0:
        raise InvalidInput("total", bill.total_fen, "must be above 0 fen")
    if not 0 <= bill.eligible <= bill.total_fen:
        raise InvalidInput("eligible", bill.eligible, "must be between 0 and the bill's total")
    treating_area = areas.area_of_institution(bill.institution_code)
    if treating_area == bill.insured_area:
        raise InvalidInput(
            "institution", bill.institution_code, "is in the insured area: settle it there"
        )
    id_number = IdNumber.parse(bill.id_number).value
    with areas.uow(treating_area) as uow:
        institution = institution_by_code(uow=uow, code=bill.institution_code)
        place = _Place(institution.kind, int(institution.level))
    return treating_area, id_number, place


def _insured_person(uow: UnitOfWork, bill: CrossAreaBill, id_number: str) -> int:
    person = person_by_id_number(uow=uow, id_number=id_number)
    if person.area_code != bill.insured_area:
        raise InvalidInput("insured_area", bill.insured_area, "is not the person's insured area")
    return person.id


def _terms(uow: UnitOfWork, bill: CrossAreaBill, person_id: int, place: _Place) -> FundTerms:
    """The fund's terms for the bill under the insured area's policy, at the treating place."""
    facts = insured_area_facts(
        uow=uow, person_id=person_id, institution_kind=place.kind, level=place.level, on=bill.on
    )
    if bill.require_scheme and facts.scheme is None:
        raise NotEnrolled(
            f"person {IdNumber.parse(bill.id_number).masked} is in no insurance scheme on {bill.on}"
        )
    return terms_from_facts(facts=facts, visit=bill.visit, on=bill.on).terms


def _ratio(terms: FundTerms) -> str:
    """The fund's ratio as a receipt writes it: 0 where the fund pays nothing."""
    return str(terms.ratio) if terms.pays else "0"


def _split(
    uow: UnitOfWork, bill: CrossAreaBill, person_id: int, place: _Place, *, lock: bool
) -> tuple[FundTerms, FundShare, BillSplit]:
    """The fund's share and the account's under the insured area's policy; `lock`: the
    patient's year and then the account locked, for a settlement."""
    terms = _terms(uow, bill, person_id, place)
    share = FundShare(0, 0)
    if terms.visit is not Visit.PHARMACY:  # the patient's year locked first, then the account
        read_usage = locked_usage if lock else usage_of
        usage = read_usage(uow=uow, person_id=person_id, visit=terms.visit, on=bill.on)
        share = fund_share(terms, eligible_fen=bill.eligible, usage=usage)
    personal = accounts.personal_account(bill.insured_area, person_id)
    balance = uow.ledger.locked_balance(personal) if lock else uow.ledger.balance_of(personal)
    split = split_bill(
        total=bill.total_fen, eligible=bill.eligible, fund=share.fund_fen, balance=max(balance, 0)
    )
    return terms, share, split


def _insured_side(
    uow: UnitOfWork, bill: CrossAreaBill, id_number: str, treating: str, place: _Place
) -> tuple[InterAreaBill, str]:
    """The fund and the personal account pay the treating area, under the insured area's
    policy; returns the bill as first recorded, and the fund's ratio. A new bill claims its
    reference here first (`across_areas_refs`): a reference barred by a reversal settles
    nothing."""
    person_id = _insured_person(uow, bill, id_number)
    found = _recorded(uow, INSURED, treating, bill)
    if found is None:
        first = claim_ref(uow=uow, treating_area=treating, institution_code=bill.institution_code,
                          ref=bill.ref, outcome=SETTLED)  # fmt: skip
        if first == BARRED:
            raise ReversedBeforeSettled(
                f"bill {bill.ref} of {bill.institution_code} was reversed before it was "
                "settled: nothing was settled"
            )
        if first == SETTLED:  # a copy of the bill settled it meanwhile
            found = _recorded(uow, INSURED, treating, bill)
    if found is not None:
        _same_bill(found, bill, id_number)
        return found, _ratio(_terms(uow, bill, person_id, place))
    terms, share, split = _split(uow, bill, person_id, place, lock=True)
    visit = terms.visit
    row = _row(INSURED, bill, id_number, (bill.insured_area, treating), person_id)
    row.personal_fen, row.fund_fen, row.deductible_fen = (
        split.account_fen,
        share.fund_fen,
        share.deductible_fen,
    )
    row.visit = str(visit)
    uow.session.add(row)
    uow.session.flush()
    add_usage(
        uow=uow,
        person_id=person_id,
        visit=visit,
        on=bill.on,
        eligible=bill.eligible,
        fund=share.fund_fen,
    )
    payable = accounts.inter_area(bill.insured_area, treating)
    personal = accounts.personal_account(bill.insured_area, person_id)
    for prefix, debit, amount in (
        ("inter-area-out", personal, split.account_fen),
        ("inter-area-fund-out", accounts.pooled_fund(bill.insured_area), share.fund_fen),
    ):
        if amount:
            uow.ledger.transfer(
                key=f"{prefix}:{_bill_key(treating, bill)}",
                debit=debit,
                credit=payable,
                amount_fen=amount,
                value_date=bill.on,
                kind=TransferKind.INTER_AREA_SETTLEMENT,
                memo=f"{bill.institution_code} {bill.ref} ({treating})",
            )
    return row, _ratio(terms)


def _treating_side(
    uow: UnitOfWork, bill: CrossAreaBill, id_number: str, treating: str, paid: InterAreaBill
) -> None:
    """The institution is owed what the insured area paid (fund and account), by that area."""
    institution = institution_by_code(uow=uow, code=bill.institution_code)
    found = _recorded(uow, TREATING, bill.insured_area, bill)
    if found is not None:
        _same_bill(found, bill, id_number)
        return
    row = _row(TREATING, bill, id_number, (treating, bill.insured_area), None)
    row.personal_fen, row.fund_fen, row.deductible_fen = (
        paid.personal_fen,
        paid.fund_fen,
        paid.deductible_fen,
    )
    row.visit = paid.visit
    uow.session.add(row)
    uow.session.flush()
    receivable = accounts.inter_area(treating, bill.insured_area)
    for prefix, amount in (
        ("inter-area-in", paid.personal_fen),
        ("inter-area-fund-in", paid.fund_fen),
    ):
        if amount:
            uow.ledger.transfer(
                key=f"{prefix}:{_bill_key(bill.insured_area, bill)}",
                debit=receivable,
                credit=accounts.institution_payable(treating, institution.code),
                amount_fen=amount,
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
    eligible = bill.eligible if found.eligible_fen is not None else None
    if (found.id_number, found.total_fen, found.settled_on, found.eligible_fen) != (
        id_number,
        bill.total_fen,
        bill.on,
        eligible,
    ):
        raise Conflict(
            f"bill {bill.ref} of {bill.institution_code} was settled before with other content"
        )


def _row(
    side: str,
    bill: CrossAreaBill,
    id_number: str,
    areas: tuple[str, str],
    person_id: int | None,
) -> InterAreaBill:
    """The bill as the book of `areas[0]` records it; `areas[1]` is the other side's area.
    The amounts paid are set by the side that writes it."""
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
        eligible_fen=bill.eligible,
        personal_fen=0,
        fund_fen=0,
        deductible_fen=0,
    )
