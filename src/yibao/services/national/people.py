"""Who the patient is (1101): identified by e-voucher, ID card or card and PIN, with their
scheme and personal account balance. Every such read goes to the audit trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from yibao.adapters.tables import Employer, Enrollment, Person
from yibao.domain.errors import InvalidInput, NotEnrolled, UnknownPerson
from yibao.domain.idnumber import mask
from yibao.domain.national_codes import NationalCodes, national_codes
from yibao.domain.pooled import Visit
from yibao.domain.schemes import Scheme
from yibao.ledger import accounts
from yibao.services import cards
from yibao.services.cards import electronic_card
from yibao.services.registry import person_by_id_number, person_by_key
from yibao.services.uow import UnitOfWork

EVOUCHER, ID_CARD, SOCIAL_CARD = "01", "02", "03"  # mdtrt_cert_type


@dataclass(frozen=True, slots=True)
class Certificate:
    """How the patient was identified at the counter: `mdtrt_cert_type` and its number, and
    for a card the PIN entered on the terminal's PIN pad."""

    cert_type: str
    cert_no: str
    pin: str | None = None


@dataclass(frozen=True, slots=True)
class Secrets:
    card_secret: str
    electronic_card_seconds: int


@dataclass(frozen=True, slots=True)
class Insured:
    person_id: int
    id_number: str
    name: str
    birth_date: dt.date
    sex: str  # M or F
    area_code: str
    scheme: Scheme
    insured_since: dt.date
    insured_until: dt.date | None
    employer_name: str | None
    codes: NationalCodes
    balance_fen: int


def check_certificate(cert: Certificate, *, pin_required: bool) -> None:
    if cert.cert_type not in (EVOUCHER, ID_CARD, SOCIAL_CARD):
        raise InvalidInput("mdtrt_cert_type", cert.cert_type, "is not 01, 02 or 03")
    if not cert.cert_no:
        raise InvalidInput("mdtrt_cert_no", cert.cert_no, "is missing")
    if cert.cert_type == SOCIAL_CARD and pin_required and not cert.pin:
        raise InvalidInput("exp_content.card_pin", cert.pin, "is missing: a card needs its PIN")


def identify(
    *,
    uow_factory: Callable[[], UnitOfWork],
    cert: Certificate,
    on: dt.date,
    now: dt.datetime,
    keys: Secrets,
) -> int:
    """The person's internal id. A card's PIN is checked and counted as at yibao's own POS
    (a wrong one's try is committed before the refusal); a lost card is refused; an e-voucher
    is refused unless the person its id names is insured in the area it claims."""
    check_certificate(cert, pin_required=True)
    if cert.cert_type == EVOUCHER:
        claim = electronic_card.read_electronic_card(
            payload=cert.cert_no,
            now=now,
            secret=keys.card_secret,
            longest_seconds=keys.electronic_card_seconds,
        )
        with uow_factory() as uow:  # the id names a person here only if of the claimed area
            person_area = person_by_key(uow=uow, person_id=claim.person_id).area_code
        electronic_card.require_person_of_claimed_area(
            claimed_area=claim.area_code, person_area=person_area
        )
        return claim.person_id
    if cert.cert_type == ID_CARD:
        with uow_factory() as uow:
            return person_by_id_number(uow=uow, id_number=cert.cert_no).id
    assert cert.pin is not None
    with cards.pin_checked(
        uow_factory=uow_factory,
        card_no=cert.cert_no,
        pin=cert.pin,
        on=on,
        read_holder=cards.read_card_holder,
    ) as (_, holder):
        return holder.person_id


def insured(*, uow: UnitOfWork, person_id: int, on: dt.date) -> Insured:
    """The person, their scheme on `on` (refused if none) and their account's balance."""
    person = person_by_key(uow=uow, person_id=person_id)
    enrollment = uow.session.scalars(
        select(Enrollment)
        .where(
            Enrollment.person_id == person_id,
            Enrollment.starts_on <= on,
            (Enrollment.ends_on.is_(None)) | (Enrollment.ends_on > on),
        )
        .order_by(Enrollment.starts_on.desc(), Enrollment.id.desc())
        .limit(1)
    ).one_or_none()
    if enrollment is None:
        raise NotEnrolled(f"person {mask(person.id_number)} is in no insurance scheme on {on}")
    scheme = Scheme(enrollment.scheme)
    employer = (
        None
        if enrollment.employer_id is None
        else uow.session.get(Employer, enrollment.employer_id)
    )
    balance = uow.ledger.balance_of(accounts.personal_account(person.area_code, person.id))
    return Insured(
        person.id,
        person.id_number,
        person.name,
        person.birth_date,
        person.sex,
        person.area_code,
        scheme,
        enrollment.starts_on,
        enrollment.ends_on,
        None if employer is None else employer.name,
        national_codes(scheme=scheme, birth_date=person.birth_date, visit=Visit.PHARMACY, on=on),
        balance,
    )


def person_by_psn_no(*, uow: UnitOfWork, psn_no: object) -> Person:
    """The protocol's person number is yibao's internal person id, written as digits."""
    written = "" if psn_no is None else str(psn_no)
    if not written.isdigit() or len(written) > 18:
        raise InvalidInput("psn_no", psn_no, "is not a person number")
    person = uow.session.get(Person, int(written))
    if person is None:
        raise UnknownPerson(f"psn_no: {written!r} is no insured person")
    return person
