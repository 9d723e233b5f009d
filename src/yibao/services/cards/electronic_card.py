"""The electronic card (QR) payload: signed, short-lived, and spent by one sale.

A payload names a person, an expiry and a nonce, signed with the configured key. A POS takes it
for one sale: the nonce is recorded in the sale's transaction, so the same payload cannot pay
twice; a retry of that sale (same institution and reference) goes through to its first receipt.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from typing import cast

from sqlalchemy import Table, select

from yibao.adapters.db import insert_skipping_duplicates
from yibao.adapters.tables import ElectronicCardUse
from yibao.domain.cards import CardReportedLost, CardStatus, ElectronicCardClaim
from yibao.domain.errors import YibaoError
from yibao.domain.months import Month
from yibao.services.cards import current_card
from yibao.services.registry import policy_schedule
from yibao.services.uow import UnitOfWork

USES = cast(Table, ElectronicCardUse.__table__)


class InvalidElectronicCard(YibaoError):
    code = "invalid_electronic_card"


class ElectronicCardUsed(YibaoError):
    code = "evoucher_used"


def electronic_card_payload(*, person_id: int, now: dt.datetime, seconds: int, secret: str) -> str:
    """A short-lived signed QR payload that identifies the person at a POS, for one sale."""
    expires = int((now + dt.timedelta(seconds=seconds)).timestamp())
    body = f"{person_id}.{expires}.{secrets.token_urlsafe(12)}"
    return f"{body}.{_sign(body, secret)}"


def read_electronic_card(
    *, payload: str, now: dt.datetime, secret: str, longest_seconds: int
) -> ElectronicCardClaim:
    """The claim of a genuine payload that has not expired and does not expire too far ahead."""
    try:
        person_text, expires_text, nonce, signature = payload.split(".")
        person_id, expires = int(person_text), int(expires_text)
    except ValueError:
        raise InvalidElectronicCard(
            "the electronic card code cannot be read; show it again"
        ) from None
    body = f"{person_text}.{expires_text}.{nonce}"
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
    return ElectronicCardClaim(person_id, expires_at, nonce)


def spend_electronic_card(
    *,
    uow: UnitOfWork,
    claim: ElectronicCardClaim,
    area_code: str,
    institution_id: int,
    ref: str,
    on: dt.date,
) -> None:
    """Record the payload as spent by this sale, in the sale's transaction.

    Refused if another sale spent it, or if the person's card is reported lost and the area's
    policy stops the electronic card with a lost card.
    """
    _require_not_stopped_by_lost_card(uow, claim.person_id, area_code, on)
    statement = (
        insert_skipping_duplicates(uow.dialect, USES)
        .values(
            nonce=claim.nonce,
            person_id=claim.person_id,
            institution_id=institution_id,
            ref=ref,
            used_on=on,
        )
        .on_conflict_do_nothing()
        .returning(USES.c.id)
    )
    if uow.session.execute(statement).scalar_one_or_none() is not None:
        return
    spent_by = uow.session.execute(
        select(USES.c.institution_id, USES.c.ref).where(USES.c.nonce == claim.nonce)
    ).one()
    if tuple(spent_by) != (institution_id, ref):
        raise ElectronicCardUsed(
            "this electronic card code has paid for another sale; refresh it for a new one"
        )


def _require_not_stopped_by_lost_card(
    uow: UnitOfWork, person_id: int, area_code: str, on: dt.date
) -> None:
    policy = policy_schedule(uow=uow, area_code=area_code).for_month(Month.of(on))
    if not policy.evoucher_stops_with_lost_card:
        return
    card = current_card(uow=uow, person_id=person_id)
    if card is not None and card.status == str(CardStatus.LOST):
        raise CardReportedLost(
            f"card {card.card_no} is reported lost, and this area stops the electronic card "
            "with it; apply for a replacement"
        )


def _sign(body: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()
