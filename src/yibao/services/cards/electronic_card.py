"""The medical insurance e-voucher (医保电子凭证): a signed, short-lived token spent by one sale.

A token names a person, their insured area, an expiry and a nonce (`area.person.expires.nonce`,
then its signature), signed with the configured key. The person is named by an internal id of
one database; with one database per planning area, all signing with the same key, the same id
is another person in another area's database: the area binds the token to the person it was
issued for, and a token is taken only where the person its id names is insured in its area
(`require_person_of_claimed_area`, and on PostgreSQL the one-statement sale's gate). A POS takes
it for one sale: the nonce is recorded with the sale (on PostgreSQL by `post_settlement`, in
the same statement), so the same token cannot pay twice; a retry of that sale (same
institution and reference) goes through to its first receipt.

The e-voucher is a credential of its own: every person on record holds one, with or without a
card, and its status (`evoucher` table: active until suspended) is not the card's, so a lost
card does not stop it (unless the area's policy says so).
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import secrets
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, select

from yibao.adapters.db import insert_skipping_duplicates
from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import Card, ElectronicCardUse, Evoucher
from yibao.domain.cards import CardReportedLost, CardStatus, ElectronicCardClaim
from yibao.domain.errors import YibaoError
from yibao.domain.months import Month
from yibao.services.registry import person_by_id_number, person_label, policy_schedule_hot
from yibao.services.uow import UnitOfWork

USES = cast(Table, ElectronicCardUse.__table__)
EVOUCHERS = cast(Table, Evoucher.__table__)
ACTIVE, SUSPENDED = "active", "suspended"


class InvalidElectronicCard(YibaoError):
    code = "invalid_electronic_card"


class ElectronicCardUsed(YibaoError):
    code = "evoucher_used"


class EvoucherSuspended(YibaoError):
    code = "evoucher_suspended"


@dataclass(frozen=True, slots=True)
class IssuedEvoucher:
    """What the person's phone shows (as a QR image): the token and until when it is good."""

    token: str
    expires_at: dt.datetime


def issue_evoucher(
    *, uow: UnitOfWork, id_number: str, now: dt.datetime, seconds: int, secret: str
) -> IssuedEvoucher:
    """A fresh token for the person's e-voucher, good for one settlement; refused if suspended."""
    person = person_by_id_number(uow=uow, id_number=id_number)
    if evoucher_status(uow=uow, person_id=person.id) != ACTIVE:
        raise EvoucherSuspended(f"the e-voucher of {person_label(person)} is suspended")
    token = electronic_card_payload(
        person_id=person.id, area_code=person.area_code, now=now, seconds=seconds, secret=secret
    )
    expires = int((now + dt.timedelta(seconds=seconds)).timestamp())
    return IssuedEvoucher(token, dt.datetime.fromtimestamp(expires, tz=dt.UTC))


def set_evoucher_status(*, uow: UnitOfWork, id_number: str, active: bool, on: dt.date) -> str:
    """Suspend or resume a person's e-voucher; its own status, whatever the card's."""
    person = person_by_id_number(uow=uow, id_number=id_number)
    status = ACTIVE if active else SUSPENDED
    row = uow.session.get(Evoucher, person.id, with_for_update=True)
    if row is None:
        uow.session.add(Evoucher(person_id=person.id, status=status, since=on))
    elif row.status != status:
        row.status, row.since = status, on
    uow.session.flush()
    return status


def evoucher_status(*, uow: UnitOfWork, person_id: int) -> str:
    """Active unless suspended: every person on record holds an e-voucher."""
    found = _STATUS.scalar_or_none(uow.hot, {"person_id": person_id})
    return ACTIVE if found is None else str(found)


def suspended() -> EvoucherSuspended:
    return EvoucherSuspended("this e-voucher is suspended; the person must resume it first")


def electronic_card_payload(
    *, person_id: int, area_code: str, now: dt.datetime, seconds: int, secret: str
) -> str:
    """A short-lived signed QR payload that identifies the person insured in `area_code` at a
    POS, for one sale: `area.person_id.expires.nonce.signature`."""
    if not area_code or "." in area_code:
        raise ValueError(f"an area code without dots is expected, not {area_code!r}")
    expires = int((now + dt.timedelta(seconds=seconds)).timestamp())
    body = f"{area_code}.{person_id}.{expires}.{secrets.token_urlsafe(12)}"
    return f"{body}.{_sign(body, secret)}"


def read_electronic_card(
    *, payload: str, now: dt.datetime, secret: str, longest_seconds: int
) -> ElectronicCardClaim:
    """The claim of a genuine payload that has not expired and does not expire too far ahead.

    The claim's person is taken only where the person the id names is insured in the claim's
    area: the caller checks it (`require_person_of_claimed_area`) before anything is written."""
    try:
        area_code, person_text, expires_text, nonce, signature = payload.split(".")
        person_id, expires = int(person_text), int(expires_text)
    except ValueError:
        raise InvalidElectronicCard(
            "the electronic card code cannot be read; show it again"
        ) from None
    body = f"{area_code}.{person_text}.{expires_text}.{nonce}"
    if not hmac.compare_digest(signature, _sign(body, secret)):
        raise InvalidElectronicCard("the electronic card code is not genuine")
    expires_at = dt.datetime.fromtimestamp(expires, tz=dt.UTC)
    if expires_at < now:
        raise InvalidElectronicCard("the electronic card code has expired; refresh it")
    if expires_at > now + dt.timedelta(seconds=longest_seconds):
        raise InvalidElectronicCard(
            f"the electronic card code claims to be valid for more than {longest_seconds} "
            "seconds; refresh it"
        )
    return ElectronicCardClaim(person_id, area_code, expires_at, nonce)


def require_person_of_claimed_area(*, claimed_area: str, person_area: str) -> None:
    """Refused unless the person the claim's id names is insured in the claim's area: a payload
    issued by another area's database names another person by the same id. Nothing is said of
    the person found."""
    if person_area != claimed_area:
        raise not_of_claimed_area(claimed_area)


def not_of_claimed_area(claimed_area: str) -> InvalidElectronicCard:
    return InvalidElectronicCard(
        f"the electronic card code is of area {claimed_area}; this person is not insured there"
    )


def require_not_stopped_by_lost_card(
    *, uow: UnitOfWork, person_id: int, area_code: str, on: dt.date
) -> None:
    """Refused if the person's card is reported lost and the area's policy stops the e-card."""
    policy = policy_schedule_hot(uow=uow, area_code=area_code).for_month(Month.of(on))
    if not policy.evoucher_stops_with_lost_card:
        return
    card = _CURRENT_CARD.one_or_none(uow.hot, {"person_id": person_id})
    if card is not None and card[1] == str(CardStatus.LOST):
        raise CardReportedLost(
            f"card {card[0]} is reported lost, and this area stops the electronic card "
            "with it; apply for a replacement"
        )


def spend(
    *, uow: UnitOfWork, nonce: str, person_id: int, institution_id: int, ref: str, on: dt.date
) -> None:
    """Record the payload as spent by this new sale, in its transaction (where no function does).

    Refused if another sale spent it; a retry of the sale that spent it finds it spent by itself.
    """
    inserted = _SPEND.scalar_or_none(
        uow.hot,
        {
            "nonce": nonce,
            "person_id": person_id,
            "institution_id": institution_id,
            "ref": ref,
            "used_on": on,
        },
    )
    if inserted is None:
        require_not_spent_by_another_sale(
            uow=uow, nonce=nonce, institution_id=institution_id, ref=ref
        )


def require_not_spent_by_another_sale(
    *, uow: UnitOfWork, nonce: str, institution_id: int, ref: str
) -> None:
    spent_by = _SPENT_BY.one_or_none(uow.hot, {"nonce": nonce})
    if spent_by is not None and tuple(spent_by) != (institution_id, ref):
        raise spent_by_another_sale()


def spent_by_another_sale() -> ElectronicCardUsed:
    return ElectronicCardUsed(
        "this electronic card code has paid for another sale; refresh it for a new one"
    )


_CARDS = cast(Table, Card.__table__)
_CURRENT_CARD = HotStatement(  # as `cards.current_card` finds it
    select(_CARDS.c.card_no, _CARDS.c.status)
    .where(
        _CARDS.c.person_id == bindparam("person_id"),
        _CARDS.c.status != str(CardStatus.REPLACED),
    )
    .order_by(_CARDS.c.id.desc())
    .limit(1)
)
_SPEND = HotStatement(  # a nonce spent before inserts nothing
    lambda dialect: (
        insert_skipping_duplicates(dialect, USES).on_conflict_do_nothing().returning(USES.c.id)
    )
)
_STATUS = HotStatement(
    select(EVOUCHERS.c.status).where(EVOUCHERS.c.person_id == bindparam("person_id"))
)
_SPENT_BY = HotStatement(
    select(USES.c.institution_id, USES.c.ref).where(USES.c.nonce == bindparam("nonce"))
)


def _sign(body: str, secret: str) -> str:
    digest = hmac.digest(secret.encode(), body.encode(), "sha256")
    return base64.urlsafe_b64encode(digest[:18]).decode()
