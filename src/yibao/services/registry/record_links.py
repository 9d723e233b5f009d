"""Records of one person split over two numbers or areas: the agency links, then merges them.

A merge moves the other record's contributions, employment and enrolment to the record that
stays, and its personal account balance with them: within one area by one transfer; across
areas (转移接续) by a transfer out of the old area's book and one into the new area's book.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import cast

from sqlalchemy import BindParameter, Table, bindparam, or_, select, update

from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import Contribution, Employment, Enrollment, Person, RecordLink
from yibao.domain.errors import Conflict, InvalidInput
from yibao.domain.idnumber import mask
from yibao.ledger import accounts
from yibao.ledger.accounts import AccountRef
from yibao.ledger.kinds import TransferKind
from yibao.services.registry import PersonOnRecord, person_by_id_number, person_by_key
from yibao.services.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class SplitRecord:
    other_masked_id: str
    other_area: str
    balance_fen: int
    contributions: int


def link(*, uow: UnitOfWork, id_number: str, other_id_number: str, on: dt.date) -> RecordLink:
    """Record that `other_id_number` holds records of the same human as `id_number`."""
    person = person_by_id_number(uow=uow, id_number=id_number)
    other = person_by_id_number(uow=uow, id_number=other_id_number)
    if person.id == other.id:
        raise InvalidInput("other", "(the same record)", "must be a different person record")
    existing = _link(uow, person.id, other.id)
    if existing is not None:
        return existing
    found = RecordLink(person_id=person.id, other_person_id=other.id, found_on=on)
    uow.session.add(found)
    uow.session.flush()
    return found


def merge(*, uow: UnitOfWork, id_number: str, other_id_number: str, on: dt.date) -> int:
    """Move the other record into this one; returns the fen of balance moved (once)."""
    person = person_by_id_number(uow=uow, id_number=id_number)
    other = person_by_id_number(uow=uow, id_number=other_id_number)
    found = _link(uow, person.id, other.id)
    if found is None:
        raise Conflict("link the two records first (`yibao person link`), then merge them")
    if found.merged_on is not None:
        return 0
    for table in (Contribution, Employment, Enrollment):
        uow.session.execute(
            update(table).where(table.person_id == other.id).values(person_id=person.id)
        )
    _one_scheme_at_a_time(uow, person.id)
    moved = _move_balance(uow, other, person, on, found.id)
    found.merged_on = on
    uow.session.flush()
    return moved


def _one_scheme_at_a_time(uow: UnitOfWork, person_id: int) -> None:
    """The two records' enrolments, now one history, may overlap (both still open, say): as
    when a scheme starts, each enrolment ends where the next one starts."""
    enrolments = uow.session.scalars(
        select(Enrollment)
        .where(Enrollment.person_id == person_id)
        .order_by(Enrollment.starts_on, Enrollment.id)
    ).all()
    for earlier, later in itertools.pairwise(enrolments):
        if earlier.ends_on is None or earlier.ends_on > later.starts_on:
            earlier.ends_on = later.starts_on
    uow.session.flush()


_LINKS = cast(Table, RecordLink.__table__)
_AS_OF: BindParameter[dt.date] = bindparam("as_of")
_PERSON: BindParameter[int] = bindparam("person_id")
_LINKED = HotStatement(  # the links of a person by a day, not merged by then (`split_records`)
    select(_LINKS.c.person_id, _LINKS.c.other_person_id).where(
        _LINKS.c.found_on <= _AS_OF,
        or_(_LINKS.c.merged_on.is_(None), _LINKS.c.merged_on > _AS_OF),
        or_(_LINKS.c.person_id == _PERSON, _LINKS.c.other_person_id == _PERSON),
    )
)


def split_records(*, uow: UnitOfWork, person: PersonOnRecord, as_of: dt.date) -> list[SplitRecord]:
    """Records linked to this person by `as_of` and not merged by then, either way round."""
    links = _LINKED.rows(uow.hot, {"person_id": person.id, "as_of": as_of})
    found = []
    for linked, other_linked in links:
        other_id = other_linked if linked == person.id else linked
        other = person_by_key(uow=uow, person_id=other_id)
        count = len(
            uow.session.scalars(
                select(Contribution.id).where(
                    Contribution.person_id == other.id, Contribution.received_on <= as_of
                )
            ).all()
        )
        balance = uow.ledger.balance_of(accounts.personal_account(other.area_code, other.id), as_of)
        found.append(SplitRecord(mask(other.id_number), other.area_code, balance, count))
    return found


def _move_balance(
    uow: UnitOfWork, source: Person, target: Person, on: dt.date, link_id: int
) -> int:
    balance = uow.ledger.locked_balance(accounts.personal_account(source.area_code, source.id))
    if balance <= 0:
        return 0
    source_account = accounts.personal_account(source.area_code, source.id)
    target_account = accounts.personal_account(target.area_code, target.id)
    if source.area_code == target.area_code:
        uow.ledger.transfer(
            key=f"merge:{link_id}",
            debit=source_account,
            credit=target_account,
            amount_fen=balance,
            value_date=on,
            kind=TransferKind.RECORDS_MERGE,
        )
        return balance
    uow.ledger.transfer(
        key=f"merge-out:{link_id}",
        debit=source_account,
        credit=_transfer_account(source.area_code, target.area_code),
        amount_fen=balance,
        value_date=on,
        kind=TransferKind.RECORDS_TRANSFER_OUT,
    )
    uow.ledger.transfer(
        key=f"merge-in:{link_id}",
        debit=_transfer_account(target.area_code, source.area_code),
        credit=target_account,
        amount_fen=balance,
        value_date=on,
        kind=TransferKind.RECORDS_TRANSFER_IN,
    )
    return balance


def _transfer_account(area_code: str, other_area: str) -> AccountRef:
    """The area's account for balances moved to or from another area (inter-area clearing)."""
    return accounts.inter_area(area_code, other_area)


def _link(uow: UnitOfWork, person_id: int, other_id: int) -> RecordLink | None:
    return uow.session.scalars(
        select(RecordLink).where(
            RecordLink.person_id == person_id, RecordLink.other_person_id == other_id
        )
    ).one_or_none()
