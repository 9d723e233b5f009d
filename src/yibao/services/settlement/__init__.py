"""POS settlement at designated institutions, refunds, and settlement with the institutions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, cast

from sqlalchemy import Table, select

from yibao.adapters.hot import AutocommitConnection, HotStatement
from yibao.adapters.tables import (
    Card,
    Institution,
    Person,
    Settlement,
    SettlementLine,
)
from yibao.domain.cards import (
    ELECTRONIC_CARD_SECONDS,
    CardNotActivated,
    CardStatus,
    PinLocked,
    WrongPin,
)
from yibao.domain.errors import (
    Conflict,
    InvalidInput,
    NotEnrolled,
    UnknownInstitution,
    UnknownPerson,
    YibaoError,
)
from yibao.domain.idnumber import IdNumber, mask
from yibao.domain.pooled import NOTHING, FundTerms, Visit
from yibao.domain.settlement import LineItem as LineItem  # callers take it from the service
from yibao.domain.settlement import check_lines, total_fen
from yibao.ledger import accounts
from yibao.ledger.kinds import TransferKind
from yibao.ledger.rules import value_date_refusal
from yibao.services import cards, catalogue
from yibao.services.cards import electronic_card, family
from yibao.services.registry import (
    PersonOnRecord,
    fields,
    person_by_id_number,
    person_by_key,
)
from yibao.services.settlement import card_sale, pooled
from yibao.services.settlement.pooled import add_usage, pooled_terms
from yibao.services.settlement.posting import Posted, SaleToPost, post_sale
from yibao.services.uow import UnitOfWork

P = cast(Table, Person.__table__)
INST = cast(Table, Institution.__table__)
CARD = cast(Table, Card.__table__)

# The POS path's reads: who is paying, and at which institution, in one query.
_AT_INSTITUTION = card_sale.AT_INSTITUTION
_CARD_HOLDER_AT_INSTITUTION = HotStatement(
    cards.CARD_HOLDER_SELECT.add_columns(
        INST.c.id, INST.c.code, INST.c.area_code, CARD.c.medical_activated_on
    ).outerjoin(INST, _AT_INSTITUTION)
)


class UnknownRef(YibaoError):
    code = "unknown_ref"


class AlreadyRefunded(YibaoError):
    code = "already_refunded"


class SaleBeforeCardActivation(CardNotActivated):
    """The card's medical function was not on yet on the day of the sale."""


class RefundBeforeSale(InvalidInput):
    code = "refund_before_sale"


@dataclass(frozen=True, slots=True)
class CardAndPin:
    card_no: str
    pin: str


@dataclass(frozen=True, slots=True)
class ElectronicCard:
    payload: str


@dataclass(frozen=True, slots=True)
class IdentityCard:
    """A resident ID card read at the counter (the national interface's certificate type 02)."""

    id_number: str


class Alongside(Protocol):
    """A caller's own statements in the sale's transaction: they commit with it or not at all.

    `before` runs ahead of the posting (a lock, a check that may refuse); `after` gets the
    receipt (the new sale's, or for a reference settled before the first one's). Both run
    on `uow.hot` only: a Session taking the connection would end the transaction early.
    """

    def before(self, uow: UnitOfWork) -> None: ...

    def after(self, uow: UnitOfWork, receipt: Receipt) -> None: ...


@dataclass(frozen=True, slots=True)
class SettleCmd:
    institution_code: str
    ref: str
    credential: CardAndPin | ElectronicCard | IdentityCard  # identifies the patient
    lines: tuple[LineItem, ...]
    on: dt.date
    payer_id_number: str | None = None  # family mutual aid: another person's account pays
    visit: Visit | None = None  # default: pharmacy at a pharmacy, outpatient elsewhere
    patient_id_number: str | None = None  # if given, the credential must be this person's
    by_catalogue: bool = False  # the lines carry the catalogue's verdict already
    patient_person_id: int | None = None  # if given, the credential must be this person's
    require_scheme: bool = False  # refuse a patient in no scheme on the day
    alongside: Alongside | None = field(default=None, compare=False)  # in the sale's transaction


@dataclass(frozen=True, slots=True)
class Receipt:
    settlement_id: int
    institution_code: str
    ref: str
    patient: str  # masked ID number
    payer: str
    total_fen: int
    personal_fen: int  # paid by the personal account
    own_fen: int  # paid by the person (cash)
    balance_after_fen: int
    family_aid: bool
    fund_fen: int = 0  # paid by the pooled fund
    deductible_fen: int = 0  # the part of the bill the deductible took
    ratio: str = "0"  # the fund's ratio for this bill
    visit: str = "pharmacy"
    # the patient's ID number, unmasked, for the audit trail's entry: never shown to a caller
    patient_id_number: str = field(default="", repr=False)


def settle(
    *,
    uow_factory: Callable[[], UnitOfWork],
    cmd: SettleCmd,
    now: dt.datetime,
    card_secret: str,
    electronic_card_seconds: int = ELECTRONIC_CARD_SECONDS,
) -> Receipt:
    """The personal account pays what it may, up to its balance; the rest is the person's own.

    The reads need no common snapshot and the sale is written in one statement on PostgreSQL
    (`post_sale`), so there each statement commits on its own (the PIN's try, in a transaction
    of its own, before the sale). An electronic card is spent by the same statement as the
    sale: the sale and the payload's one use are written together or not at all.
    """
    check_lines(cmd.lines)
    fields.ref(cmd.ref)
    for line in cmd.lines:
        fields.text(line.catalogue_code, field="item code", column=SettlementLine.catalogue_code)
    credential = cmd.credential

    def pos_uow() -> UnitOfWork:
        return uow_factory().statement_by_statement()

    if isinstance(credential, CardAndPin):
        if cmd.payer_id_number is not None:
            _require_family_first(uow_factory, cmd, card_no=credential.card_no)
        return _settle_with_card(pos_uow, cmd, credential)
    if isinstance(credential, IdentityCard):
        return _settle_without_card(pos_uow, uow_factory, cmd, id_number=credential.id_number)
    claim = electronic_card.read_electronic_card(
        payload=credential.payload,
        now=now,
        secret=card_secret,
        longest_seconds=electronic_card_seconds,
    )
    return _settle_without_card(
        pos_uow,
        uow_factory,
        cmd,
        person_id=claim.person_id,
        evoucher_nonce=claim.nonce,
        evoucher_area=claim.area_code,
    )


def _settle_without_card(
    pos_uow: Callable[[], UnitOfWork],
    uow_factory: Callable[[], UnitOfWork],
    cmd: SettleCmd,
    *,
    person_id: int | None = None,
    id_number: str | None = None,
    evoucher_nonce: str | None = None,
    evoucher_area: str | None = None,
) -> Receipt:
    """An e-voucher (its payload verified, with its nonce and the area it claims) or a resident
    ID card read at the counter: no PIN. An e-voucher pays only for a person of its area (the
    id another area's database signed is another person here). A lost card stops either only
    where the area's policy says so."""
    if person_id is None:
        assert id_number is not None
        with uow_factory() as uow:
            person_id = person_by_id_number(uow=uow, id_number=id_number).id
    if cmd.payer_id_number is not None:
        _require_family_first(uow_factory, cmd, person_id=person_id)
    with pos_uow() as uow, _transaction_for(uow, cmd):
        row, posted = _person_for_sale(uow, cmd, person_id, evoucher_nonce, evoucher_area)
        if row is None:
            raise UnknownPerson(f"no insured person with internal id {person_id}")
        if evoucher_area is not None:  # before anything is posted: the gate asks it too
            electronic_card.require_person_of_claimed_area(
                claimed_area=evoucher_area, person_area=row[2]
            )
        patient = PersonOnRecord(*row[:3])
        institution = _institution(row[3:6], cmd.institution_code)
        if posted is not None:  # in the read's statement (`card_sale`)
            return _receipt_of_posted(cmd, patient, institution, posted)
        if evoucher_nonce is not None and row[7] not in (None, electronic_card.ACTIVE):
            raise electronic_card.suspended()  # the e-voucher's own status
        if row[6] == str(CardStatus.LOST):  # only a lost card can stop it: the policy says if
            electronic_card.require_not_stopped_by_lost_card(
                uow=uow, person_id=patient.id, area_code=patient.area_code, on=cmd.on
            )
        facts = pooled.facts_of(row[8:15])
        return _settle_in(
            uow, cmd, patient, None, institution, evoucher_nonce=evoucher_nonce, facts=facts
        )


def _one_statement_may(uow: UnitOfWork, cmd: SettleCmd) -> bool:
    """Whether the sale may be tried in one statement with its credential's read (`card_sale`):
    on PostgreSQL, each statement committing on its own, and nobody but the holder involved."""
    plain = (cmd.payer_id_number, cmd.patient_id_number, cmd.patient_person_id, cmd.alongside)
    return (
        uow.each_statement_commits
        and uow.dialect == "postgresql"
        and all(given is None for given in plain)
    )


def _sale_fields(uow: UnitOfWork, cmd: SettleCmd) -> dict[str, Any]:
    """What a one-statement sale takes of the command, whatever the credential."""
    return {
        "institution_code": cmd.institution_code,
        "ref": cmd.ref,
        "lines": cmd.lines,
        "visit": cmd.visit,
        "on": cmd.on,
        "today": uow.today(),
    }


def _person_for_sale(
    uow: UnitOfWork,
    cmd: SettleCmd,
    person_id: int,
    evoucher_nonce: str | None,
    evoucher_area: str | None,
) -> tuple[Sequence[Any] | None, Sequence[Any] | None]:
    """The person, their card's and electronic card's status, the institution and the fund's
    facts (None: no such person); and the sale's outcome if the same statement posted it (only
    for a person of the e-voucher's claimed area)."""
    params = None
    if evoucher_nonce is not None and evoucher_area is not None and _one_statement_may(uow, cmd):
        params = card_sale.electronic_card_params(
            **_sale_fields(uow, cmd),
            person_id=person_id,
            nonce=evoucher_nonce,
            claimed_area=evoucher_area,
        )
    if params is not None:
        return card_sale.read_and_post_electronic(uow.hot, params)
    row = card_sale.PERSON_FOR_SALE.one_or_none(
        uow.hot,
        {"id": person_id, "institution": cmd.institution_code, **pooled.fact_params(cmd.on)},
    )
    return row, None


def keep_alongside(
    *, uow_factory: Callable[[], UnitOfWork], cmd: SettleCmd, receipt: Receipt
) -> None:
    """The caller's statements for a sale settled elsewhere (across areas, in two books): in
    one transaction of `uow_factory`'s database once the books are written. A retry after a
    crash between the two settles the same reference again, which answers as the first did,
    and keeps them then."""
    if cmd.alongside is None:
        return
    with uow_factory() as uow, _transaction_for(uow, cmd):
        cmd.alongside.before(uow)
        cmd.alongside.after(uow, receipt)


@contextmanager
def _transaction_for(
    uow: UnitOfWork, cmd: SettleCmd, commit_on: tuple[type[BaseException], ...] = ()
) -> Iterator[None]:
    """A sale with statements alongside is one transaction also where each statement would
    commit on its own. A refusal of a class in `commit_on` commits what was done before it:
    a wrong PIN's try, counted by the sale it refused, stays counted."""
    hot = uow.hot
    if cmd.alongside is not None and isinstance(hot, AutocommitConnection):
        with hot.transaction(commit_on=commit_on):
            yield
    else:
        yield


def _require_family_first(
    uow_factory: Callable[[], UnitOfWork],
    cmd: SettleCmd,
    *,
    card_no: str | None = None,
    person_id: int | None = None,
) -> None:
    """Family aid: a patient not bound to the payer is refused before anything else (PIN,
    card, e-voucher status); the sale checks the binding again in its own transaction."""
    assert cmd.payer_id_number is not None
    with uow_factory() as uow:
        if card_no is not None:
            person_id = uow.session.scalar(select(Card.person_id).where(Card.card_no == card_no))
        if person_id is None:
            return  # an unknown card or person: the sale names it
        payer = person_by_id_number(uow=uow, id_number=cmd.payer_id_number)
        patient = uow.session.get(Person, person_id)
        if patient is not None and patient.id != payer.id:
            family.require_bound(uow=uow, payer=payer, member=patient, on=cmd.on)


def _settle_with_card(
    pos_uow: Callable[[], UnitOfWork], cmd: SettleCmd, credential: CardAndPin
) -> Receipt:
    """On PostgreSQL two statements, each its own transaction: the card read with its holder,
    the institution and the fund's facts, without a lock; then the sale, which tries the PIN
    first (`cards.PresentedPin`). Elsewhere, or where the PIN cannot be tried inside the sale,
    `cards.pin_checked` tries it with the card locked, in a transaction of its own, and names
    every refusal."""
    first = pos_uow()
    if first.each_statement_commits and first.dialect == "postgresql":
        try:
            with first as uow, _transaction_for(uow, cmd, commit_on=(WrongPin, PinLocked)):
                row, posted = _card_for_sale(uow, credential, cmd)
                if posted is not None:  # in the read's statement (`card_sale`)
                    assert row is not None
                    institution = _institution(row[9:12], cmd.institution_code)
                    return _receipt_of_posted(cmd, PersonOnRecord(*row[6:9]), institution, posted)
                holder = None if row is None else _holder_for_sale(row, credential, cmd)
                if holder is not None:
                    return _settle_card_holder(uow, cmd, holder)
        except cards.PinNotTried:
            pass  # the card changed since it was read
    with (
        cards.pin_checked(
            uow_factory=pos_uow,
            card_no=credential.card_no,
            pin=credential.pin,
            on=cmd.on,
            read_holder=_card_holder_at(cmd.institution_code),
        ) as (uow, holder),
        _transaction_for(uow, cmd),
    ):
        return _settle_card_holder(uow, cmd, holder)


def _card_for_sale(
    uow: UnitOfWork, credential: CardAndPin, cmd: SettleCmd
) -> tuple[Sequence[Any] | None, Sequence[Any] | None]:
    """The card, its holder, the institution and the fund's facts (None: no such card); and
    the sale's outcome if it was posted by the same statement (`card_sale`), else None."""
    params = None
    if _one_statement_may(uow, cmd):
        params = card_sale.one_statement_params(
            **_sale_fields(uow, cmd), card_no=credential.card_no, pin=credential.pin
        )
    if params is not None:
        return card_sale.read_and_post(uow.hot, params)
    row = card_sale.CARD_FOR_SALE.one_or_none(
        uow.hot,
        {
            "card_no": credential.card_no,
            "institution": cmd.institution_code,
            **pooled.fact_params(cmd.on),
        },
    )
    return row, None


def _holder_for_sale(
    row: Sequence[Any], credential: CardAndPin, cmd: SettleCmd
) -> _CardHolderAtInstitution | None:
    """The card read's holder with the PIN to try inside the sale; None where `pin_checked`
    must try it (see `cards.presented_pin`), or the card is presented outside its holder's
    area or at an unknown institution."""
    if row[9] is None or row[8] != row[11]:
        return None
    facts = pooled.facts_of(row[13:20])
    max_tries = pooled.pin_max_tries(facts)
    if max_tries is None:
        return None
    holder = _holder_at(row, cmd.institution_code, facts)
    pin = cards.presented_pin(holder, credential.pin, max_tries)
    return None if pin is None else _holder_at(row, cmd.institution_code, facts, pin)


def _receipt_of_posted(
    cmd: SettleCmd, patient: PersonOnRecord, institution: _Institution, outcome: Sequence[Any]
) -> Receipt:
    """The receipt of a sale its credential's read's statement posted: a pharmacy bill (the
    fund's NOTHING) paid by the holder's own account, as the function answered it."""
    _, settlement_id, personal, balance_after, _, fund, deductible, _ = outcome
    posted = Posted(
        int(settlement_id), int(personal), int(balance_after), int(fund), int(deductible)
    )
    return _receipt_of(posted, cmd.lines, NOTHING, cmd, patient, patient, institution)


def _settle_card_holder(
    uow: UnitOfWork,
    cmd: SettleCmd,
    holder: _CardHolderAtInstitution,
) -> Receipt:
    patient = PersonOnRecord(holder.person_id, holder.id_number, holder.area_code)
    with _pin_named_first(uow, holder.pin):
        _require_card_active_on(holder, cmd.on)
    return _settle_in(
        uow, cmd, patient, holder.card_id, holder.institution, facts=holder.facts, pin=holder.pin
    )


@contextmanager
def _pin_named_first(uow: UnitOfWork, pin: cards.PresentedPin | None) -> Iterator[None]:
    """A sale refused before it is written, with a PIN not yet tried: the PIN is tried first,
    and a wrong one is what the cashier is told (the refusal would tell more of the holder)."""
    try:
        yield
    except YibaoError:
        if pin is not None:
            cards.try_presented_pin(uow=uow, pin=pin)
        raise


@dataclass(frozen=True, slots=True)
class _Institution:
    id: int
    code: str
    area_code: str


def _institution(columns: Sequence[Any], code: str) -> _Institution:
    """The institution read beside the patient: an unknown one is refused before any PIN check."""
    if columns[0] is None:
        raise UnknownInstitution(f"no designated institution with code {code!r}")
    return _Institution(*columns)


@dataclass(frozen=True, slots=True, kw_only=True)
class _CardHolderAtInstitution(cards.CardHolder):
    institution: _Institution
    medical_activated_on: dt.date | None
    facts: pooled.PatientFacts | None = None  # read with the card, where the read can
    pin: cards.PresentedPin | None = None  # PostgreSQL: the PIN, to be tried by the sale


def _require_card_active_on(holder: _CardHolderAtInstitution, on: dt.date) -> None:
    """A sale is not dated before the card it was paid with could pay.

    An electronic card (医保电子凭证) is not bound by this: every person on record may use it,
    with or without a card, so no card's activation dates its sales.
    """
    activated = holder.medical_activated_on
    if activated is not None and on < activated:
        raise SaleBeforeCardActivation(
            f"the social security function of card {holder.card_no} was activated on "
            f"{activated}; a sale on {on} cannot be paid with it"
        )


def _card_holder_at(
    institution_code: str,
) -> Callable[[UnitOfWork, str], _CardHolderAtInstitution]:
    def read(uow: UnitOfWork, card_no: str) -> _CardHolderAtInstitution:
        row = _CARD_HOLDER_AT_INSTITUTION.one_or_none(
            uow.hot, {"card_no": card_no, "institution": institution_code}
        )
        if row is None:
            raise cards.unknown_card(card_no)
        return _holder_at(row, institution_code)

    return read


def _holder_at(
    row: Sequence[Any],
    institution_code: str,
    facts: pooled.PatientFacts | None = None,
    pin: cards.PresentedPin | None = None,
) -> _CardHolderAtInstitution:
    """The card, its holder and the institution, as both card reads return them."""
    return _CardHolderAtInstitution(
        *row[:9],
        institution=_institution(row[9:12], institution_code),
        medical_activated_on=row[12],
        facts=facts,
        pin=pin,
    )


def _settle_in(
    uow: UnitOfWork,
    cmd: SettleCmd,
    patient: PersonOnRecord,
    card_id: int | None,
    institution: _Institution,
    evoucher_nonce: str | None = None,
    facts: pooled.PatientFacts | None = None,
    pin: cards.PresentedPin | None = None,
) -> Receipt:
    with _pin_named_first(uow, pin):
        payer, sale = _sale_to_post(uow, cmd, patient, card_id, institution, facts, pin)
    posted = post_sale(uow, sale if evoucher_nonce is None else sale.spending(evoucher_nonce))
    if posted is None:  # a retry, or the same reference settled concurrently
        first = _find(uow, institution.id, cmd.ref)
        assert first is not None
        receipt = _same_or_conflict(uow, first, sale.fingerprint, institution.code)
    else:
        receipt = _receipt_of(
            posted, sale.lines, sale.pooled.terms, cmd, patient, payer, institution
        )
    if cmd.alongside is not None:
        cmd.alongside.after(uow, receipt)
    return receipt


def _receipt_of(
    posted: Posted,
    lines: Sequence[LineItem],
    terms: FundTerms,
    cmd: SettleCmd,
    patient: PersonOnRecord,
    payer: PersonOnRecord,
    institution: _Institution,
) -> Receipt:
    total = total_fen(lines)
    return Receipt(
        posted.settlement_id,
        institution.code,
        cmd.ref,
        mask(patient.id_number),
        mask(payer.id_number),
        total,
        posted.personal_fen,
        total - posted.fund_fen - posted.personal_fen,
        posted.balance_after_fen,
        payer.id != patient.id,
        posted.fund_fen,
        posted.deductible_fen,
        str(terms.ratio),
        str(terms.visit),
        patient.id_number,
    )


def _sale_to_post(
    uow: UnitOfWork,
    cmd: SettleCmd,
    patient: PersonOnRecord,
    card_id: int | None,
    institution: _Institution,
    facts: pooled.PatientFacts | None,
    pin: cards.PresentedPin | None,
) -> tuple[PersonOnRecord, SaleToPost]:
    """Who pays, and the sale as the ledger will post it; the refusals found before it is."""
    if cmd.patient_id_number is not None and _other_person(cmd.patient_id_number, patient):
        raise InvalidInput(
            "patient", mask(cmd.patient_id_number), "is not the person the credential identifies"
        )
    if facts is None:
        facts = pooled.patient_facts(
            uow=uow, patient_id=patient.id, institution_id=institution.id, on=cmd.on
        )
    if cmd.patient_person_id is not None and cmd.patient_person_id != patient.id:
        raise InvalidInput(
            "psn_no", cmd.patient_person_id, "is not the person the credential identifies"
        )
    if cmd.require_scheme and facts.scheme is None:
        raise NotEnrolled(f"person {mask(patient.id_number)} is in no insurance scheme on {cmd.on}")
    if facts.catalogue_month is not None and not cmd.by_catalogue:
        cmd = replace(
            cmd,
            lines=catalogue.lines_by_catalogue(
                uow=uow, area_code=institution.area_code, on=cmd.on, lines=cmd.lines
            ),
        )
    payer = patient
    if cmd.payer_id_number is not None:
        found = person_by_id_number(uow=uow, id_number=cmd.payer_id_number)
        member = person_by_key(uow=uow, person_id=patient.id)
        family.require_bound(uow=uow, payer=found, member=member, on=cmd.on)
        payer = PersonOnRecord(found.id, found.id_number, found.area_code)
    if payer.area_code != institution.area_code:
        raise InvalidInput(
            "institution",
            institution.code,
            "is in another planning area; cross-area settlement is not supported",
        )
    fingerprint = _fingerprint(cmd, payer.id, patient.id)
    if cmd.alongside is not None:
        cmd.alongside.before(uow)
    fund_terms = pooled_terms(
        uow=uow,
        patient_id=patient.id,
        institution_id=institution.id,
        visit=cmd.visit,
        on=cmd.on,
        facts=facts,
    )
    return payer, SaleToPost(
        institution_id=institution.id,
        ref=cmd.ref,
        payer_person_id=payer.id,
        patient_person_id=patient.id,
        card_id=card_id,
        settled_on=cmd.on,
        fingerprint=fingerprint,
        lines=cmd.lines,
        account=accounts.personal_account(payer.area_code, payer.id),
        payable=accounts.institution_payable(institution.area_code, institution.code),
        transfer_key=card_sale.settle_key(institution.code, cmd.ref),
        transfer_kind=(
            TransferKind.FAMILY_SETTLEMENT if payer.id != patient.id else TransferKind.SETTLEMENT
        ),
        memo=card_sale.sale_memo(institution.code, cmd.ref),
        pooled=fund_terms,
        pool=accounts.pooled_fund(institution.area_code),
        fund_key=card_sale.fund_key(institution.code, cmd.ref),
        pin=pin,
    )


def refund(
    *, uow: UnitOfWork, ref: str, on: dt.date, institution_code: str | None = None
) -> Receipt:
    """Refund a whole settlement, once: all three parts go back (the account's to the account,
    the fund's to the pooled fund, the cash to the person) and the deductible and the cap room
    the bill used are free again."""
    query = (
        select(Settlement, Institution.code)
        .join(Institution, Institution.id == Settlement.institution_id)
        .where(Settlement.ref == ref)
    )
    if institution_code is not None:
        query = query.where(Institution.code == institution_code)
    rows = uow.session.execute(query.with_for_update(of=Settlement)).all()
    if not rows:
        raise UnknownRef(f"no settlement with reference {ref!r}")
    if len(rows) > 1:
        raise InvalidInput(
            "institution", None, f"is needed: {ref!r} exists at several institutions"
        )
    row, code = rows[0]
    if row.refunded_on is not None:
        raise AlreadyRefunded(f"settlement {ref!r} was already refunded on {row.refunded_on}")
    _require_refund_date(uow, row, on)
    if row.personal_fen > 0:
        uow.ledger.reverse(
            original_key=card_sale.settle_key(code, ref),
            key=f"refund:{code}:{ref}",
            value_date=on,
            memo=f"refund {code} {ref}",
        )
    if row.fund_fen > 0:
        uow.ledger.reverse(
            original_key=card_sale.fund_key(code, ref),
            key=f"fund-refund:{code}:{ref}",
            value_date=on,
            memo=f"refund {code} {ref}",
        )
    add_usage(  # the usage of the sale's year, taken back
        uow=uow,
        person_id=row.patient_person_id,
        visit=Visit(row.visit),
        on=row.settled_on,
        eligible=-row.eligible_fen,
        fund=-row.fund_fen,
    )
    row.refunded_on = on
    uow.session.flush()
    payer = person_by_key(uow=uow, person_id=row.payer_person_id)
    balance = uow.ledger.balance_of(accounts.personal_account(payer.area_code, payer.id))
    return _receipt(uow, row, code, balance)


# -- helpers --------------------------------------------------------------------------------
def _require_refund_date(uow: UnitOfWork, row: Settlement, on: dt.date) -> None:
    """A refund is dated on or after its sale, and not after today."""
    if on < row.settled_on:
        raise RefundBeforeSale(
            "on", on.isoformat(), f"is before the sale {row.ref!r} it refunds ({row.settled_on})"
        )
    refusal = value_date_refusal(
        on, today=uow.today(), last_posted_on=None, account="the payable", field="on"
    )
    if refusal is not None:
        raise refusal


def _fingerprint(cmd: SettleCmd, payer_id: int, patient_id: int) -> str:
    return card_sale.fingerprint(cmd.lines, cmd.visit, payer_id, patient_id)


def _find(uow: UnitOfWork, institution_id: int, ref: str) -> Settlement | None:
    return uow.session.scalars(
        select(Settlement).where(Settlement.institution_id == institution_id, Settlement.ref == ref)
    ).one_or_none()


def _same_or_conflict(uow: UnitOfWork, row: Settlement, fingerprint: str, code: str) -> Receipt:
    if row.fingerprint != fingerprint:
        raise Conflict(
            f"reference {row.ref!r} at {code} was settled with other content; use a new reference"
        )
    return _receipt(uow, row, code, row.balance_after_fen)  # the first receipt, unchanged


def _receipt(uow: UnitOfWork, row: Settlement, code: str, balance_after: int) -> Receipt:
    patient = person_by_key(uow=uow, person_id=row.patient_person_id)
    payer = person_by_key(uow=uow, person_id=row.payer_person_id)
    return Receipt(
        row.id,
        code,
        row.ref,
        mask(patient.id_number),
        mask(payer.id_number),
        row.total_fen,
        row.personal_fen,
        row.own_fen,
        balance_after,
        row.payer_person_id != row.patient_person_id,
        row.fund_fen,
        row.deductible_fen,
        row.ratio,
        row.visit,
        patient.id_number,
    )


def _other_person(id_number: str, patient: PersonOnRecord) -> bool:
    """Whether the ID number given is someone else's than the patient's (in any accepted form)."""
    return IdNumber.parse(id_number, field="patient").value != patient.id_number
