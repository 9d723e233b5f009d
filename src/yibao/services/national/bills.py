"""A bill through the national interface: its fee lines cut by the catalogue, pre-settled
(nothing moves) or settled through `services.settlement` (the ledger moves the money once:
the settlement's reference is the message's msgid), and cancelled whole."""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Protocol, cast

from sqlalchemy import Engine, Table, bindparam, select, update

from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import Institution, NationalFeeLine, NationalVisit, Person, Settlement
from yibao.domain.catalogue import NOT_LISTED, CatalogueEntry, LineVerdict, verdict
from yibao.domain.errors import InvalidInput
from yibao.domain.national import SettlementCut, cut_settlement, yuan
from yibao.domain.pooled import Visit, fund_share
from yibao.domain.settlement import LineItem, check_lines, split_bill
from yibao.ledger import accounts
from yibao.services import catalogue, settlement
from yibao.services.national.gateway import Caller
from yibao.services.national.people import (
    EVOUCHER,
    ID_CARD,
    Certificate,
    Insured,
    Secrets,
    check_certificate,
    identify,
    insured,
)
from yibao.services.settlement import (
    CardAndPin,
    ElectronicCard,
    IdentityCard,
    Receipt,
    SettleCmd,
    UnknownRef,
    pooled,
)
from yibao.services.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class FeeLine:
    feedetl_sn: str
    code: str  # med_list_codg
    quantity: Decimal  # cnt
    price: Decimal  # pric, yuan
    amount_fen: int  # det_item_fee_sumamt


@dataclass(frozen=True, slots=True)
class Bill:
    psn_no: int
    cert: Certificate
    lines: tuple[FeeLine, ...]
    medfee_sumamt_fen: int
    account_used: bool
    visit: Visit


@dataclass(frozen=True, slots=True)
class CutLine:
    line: FeeLine
    verdict: LineVerdict


@dataclass(frozen=True, slots=True)
class Patient:
    """Who a settlement's answer names."""

    person_id: int
    id_number: str
    name: str
    birth_date: dt.date
    sex: str  # M or F


@dataclass(frozen=True, slots=True)
class SettledBill:
    """What 2101/2102 (and the visits' pre-settlement and settlement) answer."""

    setl_id: int | None  # None: a pre-settlement
    person: Patient
    cert_type: str
    visit: Visit
    lines: tuple[CutLine, ...]
    cut: SettlementCut
    balance_after_fen: int
    family_fen: int  # what a bound family member's account paid
    insutype: str
    psn_type: str
    med_type: str
    clr_type: str


def check_bill(bill: Bill) -> None:
    if not bill.lines:
        raise InvalidInput("drugdetail", [], "must hold at least one fee line")
    seen: set[str] = set()
    for line in bill.lines:
        if line.feedetl_sn in seen:
            raise InvalidInput("feedetl_sn", line.feedetl_sn, "is given twice")
        seen.add(line.feedetl_sn)
        if line.quantity <= 0:
            raise InvalidInput("cnt", str(line.quantity), "must be more than 0")
    total = sum(line.amount_fen for line in bill.lines)
    if total != bill.medfee_sumamt_fen:
        raise InvalidInput(
            "medfee_sumamt",
            str(yuan(bill.medfee_sumamt_fen)),
            f"is not the sum of the lines' det_item_fee_sumamt ({yuan(total)})",
        )
    if not bill.account_used and bill.visit is not Visit.PHARMACY:
        raise InvalidInput(
            "acct_used_flag", "0", "is supported at pharmacies only; send 1 at a hospital"
        )


def cut_lines(
    *, uow: UnitOfWork, area_code: str, on: dt.date, lines: Sequence[FeeLine]
) -> tuple[CutLine, ...]:
    """Each line's verdict from the area's catalogue in force; a code it lacks (or every
    code, where the area has none) is class C."""
    found = catalogue.entries_in_force(
        uow=uow, area_code=area_code, on=on, codes=[line.code for line in lines]
    )
    entries: dict[str, CatalogueEntry] = found or {}
    return tuple(
        CutLine(line, verdict(entries.get(line.code, NOT_LISTED), line.amount_fen))
        for line in lines
    )


def line_items(cut: Sequence[CutLine], account_used: bool) -> tuple[LineItem, ...]:
    return tuple(
        LineItem(
            c.line.code,
            int(c.line.quantity.to_integral_value(ROUND_CEILING)),  # 0.5 box: one line of 1
            c.line.amount_fen,
            account_may_pay=account_used and c.verdict.eligible_fen + c.verdict.preselfpay_fen > 0,
            preselfpay_fen=c.verdict.preselfpay_fen if account_used else 0,
        )
        for c in cut
    )


def presettle(
    *,
    uow_factory: Callable[[], UnitOfWork],
    caller: Caller,
    bill: Bill,
    on: dt.date,
    now: dt.datetime,
    keys: Secrets,
) -> SettledBill:
    """What the settlement would be now: nothing is written (a card's PIN try is counted)."""
    check_bill(bill)
    person_id = identify(uow_factory=uow_factory, cert=bill.cert, on=on, now=now, keys=keys)
    require_same_person(bill.psn_no, person_id)
    with uow_factory() as uow:
        person = insured(uow=uow, person_id=person_id, on=on)
        _require_same_area(person, caller)
        lines = cut_lines(uow=uow, area_code=caller.area_code, on=on, lines=bill.lines)
        items = line_items(lines, bill.account_used)
        check_lines(items)
        facts = pooled.patient_facts(
            uow=uow, patient_id=person_id, institution_id=caller.institution_id, on=on
        )
        terms = pooled.terms_from_facts(facts=facts, visit=bill.visit, on=on)
        usage = pooled.usage_of(uow=uow, person_id=person_id, visit=terms.terms.visit, on=on)
        eligible = sum(c.verdict.eligible_fen for c in lines) if bill.account_used else 0
        share = fund_share(terms.terms, eligible_fen=eligible, usage=usage)
        split = split_bill(
            total=bill.medfee_sumamt_fen,
            eligible=eligible,
            fund=share.fund_fen,
            balance=person.balance_fen if bill.account_used else 0,
        )
        uow.session.rollback()  # a pre-settlement leaves nothing behind
    cut = cut_settlement(
        verdicts=[c.verdict for c in lines],
        deductible_fen=share.deductible_fen,
        ratio=terms.terms.ratio,
        fund_fen=split.fund_fen,
        account_fen=split.account_fen,
        cash_fen=split.cash_fen,
    )
    codes = terms.codes
    patient = Patient(person.person_id, person.id_number, person.name, person.birth_date,
                      person.sex)  # fmt: skip
    return SettledBill(
        None, patient, bill.cert.cert_type, bill.visit, lines, cut,
        person.balance_fen - split.account_fen, 0,
        codes.insutype or "", codes.psn_type or "", codes.med_type, codes.clr_type,
    )  # fmt: skip


class InTheSale(Protocol):
    """The caller's statements in the settlement's transaction (`settlement.Alongside`), with
    the settled bill: the msgid's answer, its audit entry, a visit's lock and its lines."""

    def before(self, uow: UnitOfWork) -> None: ...

    def after(self, uow: UnitOfWork, bill: SettledBill) -> None: ...


def settle(
    *,
    uow_factory: Callable[[], UnitOfWork],
    caller: Caller,
    bill: Bill,
    msgid: str,
    on: dt.date,
    now: dt.datetime,
    keys: Secrets,
    alongside: InTheSale,
) -> SettledBill:
    """Settle the bill once, its reference the msgid: a repeat settles nothing again. What
    `alongside` writes commits in the same transaction as the sale."""
    check_bill(bill)
    check_certificate(bill.cert, pin_required=True)
    lines = cut_bill(uow_factory, caller, bill, on)
    credential: CardAndPin | ElectronicCard | IdentityCard
    if bill.cert.cert_type == EVOUCHER:
        credential = ElectronicCard(bill.cert.cert_no)
    elif bill.cert.cert_type == ID_CARD:
        credential = IdentityCard(bill.cert.cert_no)
    else:
        credential = CardAndPin(bill.cert.cert_no, str(bill.cert.pin))
    _open_payable(uow_factory, caller)
    sale = _Sale(alongside, bill.cert.cert_type, lines)
    settlement.settle(
        uow_factory=uow_factory,
        cmd=sale_cmd(caller, bill, msgid, credential, lines, on, sale),
        now=now,
        card_secret=keys.card_secret,
        electronic_card_seconds=keys.electronic_card_seconds,
    )
    assert sale.settled is not None
    return sale.settled


def cut_bill(
    uow_factory: Callable[[], UnitOfWork], caller: Caller, bill: Bill, on: dt.date
) -> tuple[CutLine, ...]:
    """The bill's lines cut by the institution's area's catalogue (就医地目录), whatever the
    patient's insured area."""
    with uow_factory().statement_by_statement() as uow:
        return cut_lines(uow=uow, area_code=caller.area_code, on=on, lines=bill.lines)


def sale_cmd(
    caller: Caller,
    bill: Bill,
    msgid: str,
    credential: CardAndPin | ElectronicCard | IdentityCard,
    lines: Sequence[CutLine],
    on: dt.date,
    alongside: settlement.Alongside,
) -> SettleCmd:
    """The sale a national bill asks for, its reference the msgid: priced by the catalogue,
    its patient the message's psn_no, who must be in a scheme on the day."""
    return SettleCmd(
        caller.code,
        msgid,
        credential,
        line_items(lines, bill.account_used),
        on,
        visit=bill.visit,
        by_catalogue=True,
        patient_person_id=bill.psn_no,
        require_scheme=True,
        alongside=alongside,
    )


_PAYABLES_OPEN: weakref.WeakKeyDictionary[Engine, set[tuple[str, str]]] = (
    weakref.WeakKeyDictionary()
)


def _open_payable(uow_factory: Callable[[], UnitOfWork], caller: Caller) -> None:
    """The institution's payable and the area's pooled fund opened before its first sale: if the
    sale opened them, it would do so on a Session, ending the sale's transaction (and its
    visit lock) early. Accounts are never closed, so each process remembers them."""
    factory = uow_factory()
    known = _PAYABLES_OPEN.setdefault(factory.engine, set())
    if (caller.area_code, caller.code) in known:
        return
    with factory as uow:
        uow.ledger.account_id(accounts.institution_payable(caller.area_code, caller.code))
        uow.ledger.account_id(accounts.pooled_fund(caller.area_code))
    known.add((caller.area_code, caller.code))


class _Sale:
    """`settlement.Alongside` for a national bill: the receipt becomes the settled bill."""

    def __init__(self, given: InTheSale, cert_type: str, lines: tuple[CutLine, ...]) -> None:
        self.given, self.cert_type, self.lines = given, cert_type, lines
        self.settled: SettledBill | None = None

    def before(self, uow: UnitOfWork) -> None:
        self.given.before(uow)

    def after(self, uow: UnitOfWork, receipt: Receipt) -> None:
        self.settled = settled_bill(uow=uow, receipt=receipt, cert_type=self.cert_type,
                                    lines=self.lines)  # fmt: skip
        self.given.after(uow, self.settled)


S = cast(Table, Settlement.__table__)
P = cast(Table, Person.__table__)
_SETTLED_PATIENT = HotStatement(
    select(
        P.c.id, P.c.id_number, P.c.name, P.c.birth_date, P.c.sex,
        S.c.insutype, S.c.psn_type, S.c.med_type, S.c.clr_type,
    )
    .join(P, P.c.id == S.c.patient_person_id)
    .where(S.c.id == bindparam("settlement_id"))
)  # fmt: skip


def settled_bill(
    *, uow: UnitOfWork, receipt: Receipt, cert_type: str, lines: tuple[CutLine, ...]
) -> SettledBill:
    """The bill as settled, read in the sale's transaction (one statement)."""
    row = _SETTLED_PATIENT.one_or_none(uow.hot, {"settlement_id": receipt.settlement_id})
    assert row is not None
    birth = row[3] if isinstance(row[3], dt.date) else dt.date.fromisoformat(str(row[3]))
    cut = cut_settlement(
        verdicts=[c.verdict for c in lines],
        deductible_fen=receipt.deductible_fen,
        ratio=Decimal(receipt.ratio),
        fund_fen=receipt.fund_fen,
        account_fen=receipt.personal_fen,
        cash_fen=receipt.own_fen,
    )
    return SettledBill(
        receipt.settlement_id, Patient(int(row[0]), str(row[1]), str(row[2]), birth, str(row[4])),
        cert_type, Visit(receipt.visit), lines, cut,
        receipt.balance_after_fen, receipt.personal_fen if receipt.family_aid else 0,
        row[5] or "", row[6] or "", str(row[7]), str(row[8]),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Cancelled:
    setl_id: int
    psn_no: int
    receipt: Receipt


def setl_id_number(setl_id: object) -> int:
    """A message's `setl_id` as a settlement's number: digits, at most 18 (a BIGINT)."""
    written = "" if setl_id is None else str(setl_id)
    if not written.isdigit() or len(written) > 18:
        raise InvalidInput("setl_id", setl_id, "is not a settlement id")
    return int(written)


def cancel(*, uow: UnitOfWork, caller: Caller, setl_id: object, psn_no: int) -> Cancelled:
    """Cancel a settlement of this institution whole (2103, 2208, 2305, and 2601's reversal):
    every part goes back through `settlement.refund`."""
    number = setl_id_number(setl_id)
    written = str(setl_id)  # as the message wrote it
    row = uow.session.execute(
        select(Settlement.ref, Settlement.patient_person_id)
        .join(Institution, Institution.id == Settlement.institution_id)
        .where(Settlement.id == number, Institution.id == caller.institution_id)
    ).one_or_none()
    if row is None:
        raise UnknownRef(f"setl_id: {written!r} is no settlement of {caller.code}")
    require_same_person(psn_no, row.patient_person_id)
    receipt = settlement.refund(uow=uow, ref=row.ref, on=uow.today(), institution_code=caller.code)
    unlink(uow=uow, settlement_id=number)
    return Cancelled(number, psn_no, receipt)


def unlink(*, uow: UnitOfWork, settlement_id: int, insured_area: str | None = None) -> None:
    """A cancelled settlement's lines are unsettled again; an admission is discharged again.
    `settlement_id` is a number of `insured_area`'s database (None: this one's): only its
    visits are unlinked, not another area's visit whose bill has the same number there."""
    of_area = (
        NationalVisit.insured_area.is_(None)
        if insured_area is None
        else NationalVisit.insured_area == insured_area
    )
    uow.session.execute(
        update(NationalFeeLine)
        .where(
            NationalFeeLine.settlement_id == settlement_id,
            NationalFeeLine.visit_id.in_(select(NationalVisit.id).where(of_area)),
        )
        .values(settlement_id=None)
    )
    for visit in uow.session.scalars(
        select(NationalVisit).where(NationalVisit.settlement_id == settlement_id, of_area)
    ):
        visit.settlement_id = None
        if visit.status == "settled":
            visit.status = "discharged"


def settlement_of_msgid(*, uow: UnitOfWork, caller: Caller, msgid: str) -> Settlement | None:
    return uow.session.scalars(
        select(Settlement).where(
            Settlement.institution_id == caller.institution_id, Settlement.ref == msgid
        )
    ).one_or_none()


def require_same_person(psn_no: int, person_id: int) -> None:
    if psn_no != person_id:
        raise InvalidInput("psn_no", str(psn_no), "is not the person the certificate identifies")


def _require_same_area(person: Insured, caller: Caller) -> None:
    if person.area_code != caller.area_code:
        raise InvalidInput(
            "insuplc_admdvs",
            person.area_code,
            "is another planning area; cross-area settlement is not supported",
        )
