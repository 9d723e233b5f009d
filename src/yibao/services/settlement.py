"""POS settlement at designated institutions, refunds, and settlement with the institutions."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, and_, bindparam, select

from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import Institution, LedgerAccount, Person, Settlement
from yibao.domain.errors import (
    Conflict,
    InvalidInput,
    UnknownInstitution,
    UnknownPerson,
    YibaoError,
)
from yibao.domain.idnumber import mask
from yibao.domain.settlement import LineItem as LineItem  # callers take it from the service
from yibao.domain.settlement import check_lines, line_values, total_fen
from yibao.ledger import accounts
from yibao.services import cards, family
from yibao.services.registry import person_by_id_number, person_by_key
from yibao.services.settlement_posting import SaleToPost, post_sale
from yibao.services.uow import UnitOfWork

P = cast(Table, Person.__table__)
INST = cast(Table, Institution.__table__)
ACCOUNT = cast(Table, LedgerAccount.__table__)

# The statements of the POS path, built once.
_PARTY = HotStatement(select(P.c.id, P.c.id_number, P.c.area_code).where(P.c.id == bindparam("id")))
_INSTITUTION_AND_PAYABLE = HotStatement(
    select(INST.c.id, INST.c.code, INST.c.area_code, ACCOUNT.c.id)
    .select_from(INST)
    .outerjoin(
        ACCOUNT,
        and_(ACCOUNT.c.book == bindparam("book"), ACCOUNT.c.code == bindparam("payable")),
    )
    .where(INST.c.code == bindparam("code"))
)


class UnknownRef(YibaoError):
    code = "unknown_ref"


class AlreadyRefunded(YibaoError):
    code = "already_refunded"


@dataclass(frozen=True, slots=True)
class CardAndPin:
    card_no: str
    pin: str


@dataclass(frozen=True, slots=True)
class ElectronicCard:
    payload: str


@dataclass(frozen=True, slots=True)
class SettleCmd:
    institution_code: str
    ref: str
    credential: CardAndPin | ElectronicCard  # identifies the patient
    lines: tuple[LineItem, ...]
    on: dt.date
    payer_id_number: str | None = None  # family mutual aid: another person's account pays


@dataclass(frozen=True, slots=True)
class Receipt:
    settlement_id: int
    institution_code: str
    ref: str
    patient: str  # masked ID number
    payer: str
    total_fen: int
    personal_fen: int  # paid by the personal account
    own_fen: int  # paid by the person
    balance_after_fen: int
    family_aid: bool


def settle(
    *, uow_factory: Callable[[], UnitOfWork], cmd: SettleCmd, now: dt.datetime, card_secret: str
) -> Receipt:
    """The personal account pays what it may, up to its balance; the rest is the person's own."""
    check_lines(cmd.lines)
    credential = cmd.credential
    if isinstance(credential, CardAndPin):
        with cards.pin_checked(
            uow_factory=uow_factory, card_no=credential.card_no, pin=credential.pin, on=cmd.on
        ) as (uow, holder):
            patient = _Party(holder.person_id, holder.id_number, holder.area_code)
            return _settle_in(uow, cmd, patient, holder.card_id)
    claim = cards.read_electronic_card(payload=credential.payload, now=now, secret=card_secret)
    with uow_factory() as uow:
        return _settle_in(uow, cmd, _party(uow, claim.person_id), None)


@dataclass(frozen=True, slots=True)
class _Party:
    """The patient, or the family member whose account pays."""

    id: int
    id_number: str
    area_code: str


def _party(uow: UnitOfWork, person_id: int) -> _Party:
    row = _PARTY.one_or_none(uow.session, {"id": person_id})
    if row is None:
        raise UnknownPerson(f"no insured person with internal id {person_id}")
    return _Party(*row)


def _settle_in(uow: UnitOfWork, cmd: SettleCmd, patient: _Party, card_id: int | None) -> Receipt:
    payer = patient
    if cmd.payer_id_number is not None:
        found = person_by_id_number(uow=uow, id_number=cmd.payer_id_number)
        member = person_by_key(uow=uow, person_id=patient.id)
        family.require_bound(uow=uow, payer=found, member=member, on=cmd.on)
        payer = _Party(found.id, found.id_number, found.area_code)
    institution = _institution(uow, cmd.institution_code, payer.area_code)
    if payer.area_code != institution.area_code:
        raise InvalidInput(
            "institution",
            institution.code,
            "is in another planning area; cross-area settlement is not supported",
        )
    fingerprint = _fingerprint(cmd, payer.id, patient.id)
    posted = post_sale(
        uow,
        SaleToPost(
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
            transfer_key=_settle_key(institution.code, cmd.ref),
            transfer_kind="family_settlement" if payer.id != patient.id else "settlement",
            memo=f"{institution.code} {cmd.ref}",
        ),
    )
    if posted is None:  # a retry, or the same reference settled concurrently
        first = _find(uow, institution.id, cmd.ref)
        assert first is not None
        return _same_or_conflict(uow, first, fingerprint, institution.code)
    total = total_fen(cmd.lines)
    return Receipt(
        posted.settlement_id,
        institution.code,
        cmd.ref,
        mask(patient.id_number),
        mask(payer.id_number),
        total,
        posted.personal_fen,
        total - posted.personal_fen,
        posted.balance_after_fen,
        payer.id != patient.id,
    )


@dataclass(frozen=True, slots=True)
class _Institution:
    id: int
    code: str
    area_code: str


def _institution(uow: UnitOfWork, code: str, payer_area: str) -> _Institution:
    """The institution, and (into the ledger's memory) its payable's id if it is in this area."""
    payable = accounts.institution_payable(payer_area, code)
    row = _INSTITUTION_AND_PAYABLE.one_or_none(
        uow.session, {"code": code, "book": payable.book, "payable": payable.code}
    )
    if row is None:
        raise UnknownInstitution(f"no designated institution with code {code!r}")
    institution_id, code, area_code, payable_id = row
    if payable_id is not None and area_code == payer_area:
        uow.ledger.remember_account(payable, payable_id)
    return _Institution(institution_id, code, area_code)


def refund(
    *, uow: UnitOfWork, ref: str, on: dt.date, institution_code: str | None = None
) -> Receipt:
    """Refund a whole settlement, once: what the personal account paid goes back to it."""
    query = select(Settlement, Institution.code).join(Institution).where(Settlement.ref == ref)
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
    if row.personal_fen > 0:
        uow.ledger.reverse(
            original_key=_settle_key(code, ref),
            key=f"refund:{code}:{ref}",
            value_date=on,
            memo=f"refund {code} {ref}",
        )
    row.refunded_on = on
    uow.session.flush()
    payer = person_by_key(uow=uow, person_id=row.payer_person_id)
    balance = uow.ledger.balance_of(accounts.personal_account(payer.area_code, payer.id))
    return _receipt(uow, row, code, balance)


# -- helpers --------------------------------------------------------------------------------
def _fingerprint(cmd: SettleCmd, payer_id: int, patient_id: int) -> str:
    content = {
        "lines": [line_values(line) for line in cmd.lines],
        "payer": payer_id,
        "patient": patient_id,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


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
    )


def _settle_key(institution_code: str, ref: str) -> str:
    return f"settle:{institution_code}:{ref}"
