"""Card use cases: issue, activation of both functions, PIN, loss, replacement, electronic card."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NoReturn, TypeVar, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import BindParameter, Table, bindparam, case, func, select, update

from yibao.adapters.hot import AutocommitConnection, HotStatement
from yibao.adapters.tables import Card, Person
from yibao.config import DEVELOPMENT_PIN_PEPPER
from yibao.domain.cards import (
    CardState,
    CardStatus,
    NoCard,
    PinLocked,
    UnknownCard,
    WrongPin,
    pin_locked,
    valid_pin,
)
from yibao.domain.errors import Conflict, InvalidInput
from yibao.domain.months import Month
from yibao.services.registry import (
    fields,
    person_by_id_number,
    person_label,
    policy_schedule_hot,
)
from yibao.services.uow import UnitOfWork

# A 6-digit PIN has a million values: a dumped hash alone falls in minutes whatever the cost
# of a slow hash (argon2 at 0.2 ms a try is 3 minutes for all of them). What protects it is the
# pepper, a server-side secret, as a bank's PIN verification value rests on its key: the stored
# hash is HMAC-SHA256 keyed by the pepper over a per-card salt and the PIN (`$hmac-sha256$keyed$`
# salt `$` digest), useless without the pepper, and a few microseconds to check at a POS. The
# salt is the card's number: unique to the card like a random one, and known to a terminal's
# request before any read, so a card sale can present its PIN's hash in its first statement
# (`presented_pin_hash`). The lock after a few wrong tries stops guessing online. Hashes of
# earlier versions (argon2, with or without the pepper, or keyed with a random salt or another
# card's number) are still checked, and renewed the next time their PIN is entered right.
_KEYED = "$hmac-sha256$keyed$"
_PEPPERED = "$hmac-sha256"  # then an argon2 hash of the peppered PIN: an earlier version
_OLDER_ARGON2 = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)
_pin_pepper = DEVELOPMENT_PIN_PEPPER.encode()


def use_pin_pepper(pepper: str) -> None:
    """Set the PIN pepper for this process (bootstrap does, from YIBAO_PIN_PEPPER)."""
    global _pin_pepper
    _pin_pepper = pepper.encode()


def state_of(card: Card | CardHolder) -> CardState:
    return CardState(
        card_no=card.card_no,
        status=CardStatus(card.status),
        financial_active=card.financial_activated_on is not None,
        failed_pin_tries=card.failed_pin_tries,
        pin_set=card.pin_hash is not None,
    )


def current_card(*, uow: UnitOfWork, person_id: int, lock: bool = False) -> Card | None:
    """The person's newest card that was not replaced (it may be issued, active or lost)."""
    query = (
        select(Card)
        .where(Card.person_id == person_id, Card.status != str(CardStatus.REPLACED))
        .order_by(Card.id.desc())
        .limit(1)
    )
    return uow.session.scalars(query.with_for_update() if lock else query).one_or_none()


def require_current_card(*, uow: UnitOfWork, person: Person, lock: bool = False) -> Card:
    card = current_card(uow=uow, person_id=person.id, lock=lock)
    if card is None:
        raise NoCard(f"{person_label(person)} has no social security card; apply for one")
    return card


def card_by_number(*, uow: UnitOfWork, card_no: str, lock: bool = False) -> Card:
    query = select(Card).where(Card.card_no == card_no)
    card = uow.session.scalars(query.with_for_update() if lock else query).one_or_none()
    if card is None:
        raise UnknownCard(f"no social security card numbered {card_no!r}")
    return card


def issue_card(*, uow: UnitOfWork, id_number: str, card_no: str, on: dt.date) -> Card:
    """Make a card for the person; it is not usable until its medical function is activated."""
    person = person_by_id_number(uow=uow, id_number=id_number)
    _require_card_no(card_no)
    existing = uow.session.scalars(select(Card).where(Card.card_no == card_no)).one_or_none()
    if existing is not None:
        if existing.person_id == person.id:
            return existing  # a retry
        raise Conflict(f"card number {card_no} belongs to someone else")
    held = current_card(uow=uow, person_id=person.id)
    if held is not None:
        raise Conflict(
            f"{person_label(person)} already holds card {held.card_no}; "
            "a lost card is replaced with `replace`, not issued again"
        )
    card = Card(
        card_no=card_no,
        person_id=person.id,
        status=str(CardStatus.ISSUED),
        issued_on=on,
        failed_pin_tries=0,
    )
    uow.session.add(card)
    uow.session.flush()
    return card


class CardAlreadyActive(Conflict):
    """Activation is for an issued card: it would otherwise replace the PIN and clear its lock."""

    code = "card_already_active"


def activate_card(*, uow: UnitOfWork, id_number: str, on: dt.date, pin: str | None = None) -> Card:
    """Activate an issued card's social security (medical) function, setting the PIN if given."""
    person = person_by_id_number(uow=uow, id_number=id_number)
    card = require_current_card(uow=uow, person=person, lock=True)
    if card.status == str(CardStatus.LOST):
        state_of(card).require_medical_use()
    if card.status != str(CardStatus.ISSUED):
        raise CardAlreadyActive(
            f"card {card.card_no} is active since {card.medical_activated_on}; a forgotten or "
            "locked PIN is reset with `card reset-pin` at the counter"
        )
    if pin is not None:
        card.pin_hash = hash_pin(pin, card.card_no)
        card.failed_pin_tries = 0
    card.status = str(CardStatus.ACTIVE)
    card.medical_activated_on = on
    uow.session.flush()
    return card


def activate_financial(*, uow: UnitOfWork, id_number: str, on: dt.date) -> Card:
    """Activate the card's bank (financial) account, as a bank counter does."""
    person = person_by_id_number(uow=uow, id_number=id_number)
    card = require_current_card(uow=uow, person=person, lock=True)
    if card.status == str(CardStatus.LOST):
        state_of(card).require_medical_use()
    if card.financial_activated_on is None:
        card.financial_activated_on = on
    uow.session.flush()
    return card


def report_loss(*, uow: UnitOfWork, id_number: str, on: dt.date) -> Card:
    """Freeze the current card at once; the balance stays with the person."""
    person = person_by_id_number(uow=uow, id_number=id_number)
    card = require_current_card(uow=uow, person=person, lock=True)
    if card.status != str(CardStatus.LOST):
        card.status = str(CardStatus.LOST)
        card.lost_on = on
    uow.session.flush()
    return card


def replace_card(*, uow: UnitOfWork, id_number: str, new_card_no: str, on: dt.date) -> Card:
    """Issue a new, active card; the old number is dead forever. The PIN carries over."""
    person = person_by_id_number(uow=uow, id_number=id_number)
    _require_card_no(new_card_no)
    taken = uow.session.scalars(select(Card).where(Card.card_no == new_card_no)).one_or_none()
    if taken is not None:
        if taken.person_id == person.id and taken.status != str(CardStatus.REPLACED):
            return taken  # a retry
        raise Conflict(f"card number {new_card_no} is already in use")
    old = require_current_card(uow=uow, person=person, lock=True)
    new = Card(
        card_no=new_card_no,
        person_id=person.id,
        status=str(CardStatus.ACTIVE),
        issued_on=on,
        medical_activated_on=on,
        financial_activated_on=on if old.financial_activated_on else None,
        pin_hash=old.pin_hash,
        failed_pin_tries=0,
    )
    uow.session.add(new)
    uow.session.flush()
    old.status = str(CardStatus.REPLACED)
    old.replaced_on = on
    old.replaced_by_card_id = new.id
    uow.session.flush()
    return new


# -- PIN ------------------------------------------------------------------------------------
def change_pin(
    *,
    uow_factory: Callable[[], UnitOfWork],
    card_no: str,
    old_pin: str,
    new_pin: str,
    on: dt.date,
) -> None:
    """Change the PIN with the old one; a wrong old PIN counts toward the lock like any other."""
    if not valid_pin(old_pin):
        raise InvalidInput("old_pin", "******", "must be the current 6-digit PIN")
    hash_pin(new_pin, card_no)  # refuse a malformed new PIN before spending a try
    check_pin(uow_factory=uow_factory, card_no=card_no, pin=old_pin, on=on)
    with uow_factory() as uow:
        card = card_by_number(uow=uow, card_no=card_no, lock=True)
        card.pin_hash = hash_pin(new_pin, card.card_no)


def reset_pin(*, uow: UnitOfWork, card_no: str, new_pin: str) -> None:
    """Reset a forgotten or locked PIN at an agency counter, where identity is checked."""
    card = card_by_number(uow=uow, card_no=card_no, lock=True)
    state_of(card).require_medical_use()
    card.pin_hash = hash_pin(new_pin, card.card_no)
    card.failed_pin_tries = 0
    uow.session.flush()


@dataclass(frozen=True, slots=True)
class CardHolder:
    """A card and the person holding it, read together where a card is presented."""

    card_id: int
    card_no: str
    status: str
    financial_activated_on: dt.date | None
    failed_pin_tries: int
    pin_hash: str | None
    person_id: int
    id_number: str
    area_code: str


def check_pin(
    *, uow_factory: Callable[[], UnitOfWork], card_no: str, pin: str, on: dt.date
) -> None:
    """Verify a PIN; a wrong one is counted (and committed) before the refusal is raised."""
    with pin_checked(
        uow_factory=uow_factory, card_no=card_no, pin=pin, on=on, read_holder=read_card_holder
    ):
        pass


HolderT = TypeVar("HolderT", bound="CardHolder")


@contextmanager
def pin_checked(
    *,
    uow_factory: Callable[[], UnitOfWork],
    card_no: str,
    pin: str,
    on: dt.date,
    read_holder: Callable[[UnitOfWork, str], HolderT],
) -> Iterator[tuple[UnitOfWork, HolderT]]:
    """A unit of work in which the card is usable and its PIN was right, with the card's holder.

    `read_holder` reads and locks the card, with its holder (`read_card_holder`) and what else
    the caller needs, in one query (`CARD_HOLDER_SELECT`). The PIN is tried in a transaction of
    its own that holds the card's row lock from before the PIN meets its hash until the try is
    counted and committed: however many terminals try at once, no more wrong PINs are compared
    than the policy allows.
    """
    given = uow_factory()
    if given.each_statement_commits and given.dialect == "postgresql":
        with given as uow:  # the try commits on the sale's own connection, before the sale
            hot = uow.hot
            assert isinstance(hot, AutocommitConnection)
            with hot.transaction():
                holder, wrong_tries, max_tries = _checked(uow, card_no, pin, on, read_holder)
            if wrong_tries:
                _refuse_wrong_pin(holder.card_no, wrong_tries, max_tries)
            yield uow, holder
        return
    with UnitOfWork(given.engine, today=given.today) as uow:  # a transaction, whatever the factory
        holder, wrong_tries, max_tries = _checked(uow, card_no, pin, on, read_holder)
    if wrong_tries:
        _refuse_wrong_pin(holder.card_no, wrong_tries, max_tries)
    with uow_factory() as uow:
        yield uow, holder


@dataclass(frozen=True, slots=True)
class PresentedPin:
    """A PIN entered at a terminal, hashed as the card's stored hash was (with its salt), to be
    tried inside the sale it pays.

    On PostgreSQL the settlement function compares the two hashes before it writes anything
    (`post_settlement`): by a read for the right PIN on a card with no wrong tries, otherwise
    counting the try in one UPDATE under the card's row lock. The PIN meets its hash only there,
    so however many terminals try at once no more wrong PINs are compared than the policy
    allows, and a card sale costs no transaction of its own.
    """

    card_no: str
    card_id: int
    pin_hash: str
    max_tries: int


class PinNotTried(Exception):
    """Nothing was counted: the card changed since it was read (its PIN locked or changed, the
    card no longer active). The caller tries the PIN with the card locked (`pin_checked`)."""


def presented_pin(holder: CardHolder, pin: str, max_tries: int) -> PresentedPin | None:
    """The PIN to try inside the sale, or None where `pin_checked` must try it: a card that is
    not active or has no PIN, a locked PIN (it names the refusal), a hash to be renewed."""
    pin_hash = holder.pin_hash
    if (
        holder.status != CardStatus.ACTIVE
        or pin_hash is None
        or _needs_renewal(pin_hash, holder.card_no)
        or pin_locked(int(holder.failed_pin_tries), max_tries)
    ):
        return None
    return PresentedPin(holder.card_no, holder.card_id, _keyed_as(pin_hash, pin), max_tries)


def refuse_presented_pin(pin: PresentedPin, wrong_tries: int | None) -> NoReturn:
    """The try was counted wrong (`wrong_tries` now), or not counted at all (None)."""
    if wrong_tries is None:
        raise PinNotTried(pin.card_no)
    _refuse_wrong_pin(pin.card_no, wrong_tries, pin.max_tries)


def try_presented_pin(*, uow: UnitOfWork, pin: PresentedPin) -> None:
    """The try alone, as `post_settlement` makes it: for a sale refused before it was written, so
    that a wrong PIN is counted and named before the refusal, which tells more about the holder."""
    row = _TRY_PRESENTED.one_or_none(
        uow.hot,
        {"card_id": pin.card_id, "presented_hash": pin.pin_hash, "max_tries": pin.max_tries},
    )
    if row is None or row[0] > 0:
        refuse_presented_pin(pin, None if row is None else int(row[0]))


def _checked(
    uow: UnitOfWork,
    card_no: str,
    pin: str,
    on: dt.date,
    read_holder: Callable[[UnitOfWork, str], HolderT],
) -> tuple[HolderT, int, int]:
    """Inside the PIN's transaction: the holder, the new wrong-try count, and the policy's limit."""
    holder = read_holder(uow, card_no)
    state_of(holder).require_medical_use()
    wrong_tries = _try_pin(uow, holder, pin, on)
    max_tries = _max_tries(uow, holder.area_code, on) if wrong_tries else 0
    return holder, wrong_tries, max_tries


_CARD, _PERSON = cast(Table, Card.__table__), cast(Table, Person.__table__)
# The card presented and its holder: `read_holder` queries of other services extend it. It
# takes the card's row lock: tries on the same card wait here, one after the other, and read
# the count and the hash the try before them left.
CARD_HOLDER_SELECT = (
    select(
        _CARD.c.id,
        _CARD.c.card_no,
        _CARD.c.status,
        _CARD.c.financial_activated_on,
        _CARD.c.failed_pin_tries,
        _CARD.c.pin_hash,
        _PERSON.c.id,
        _PERSON.c.id_number,
        _PERSON.c.area_code,
    )
    .join(_PERSON, _PERSON.c.id == _CARD.c.person_id)
    .where(_CARD.c.card_no == bindparam("card_no"))
    .with_for_update(of=_CARD)
)
_CARD_HOLDER = HotStatement(CARD_HOLDER_SELECT)
_SET_TRIES = HotStatement(
    update(_CARD)
    .where(_CARD.c.id == bindparam("card_id"))
    .values(failed_pin_tries=bindparam("tries"))
)
_PRESENTED: BindParameter[str] = bindparam("presented_hash")
_TRY_PRESENTED = HotStatement(  # PostgreSQL: post_settlement's first statement, on its own
    update(_CARD)
    .where(
        _CARD.c.id == bindparam("card_id"),
        _CARD.c.status == str(CardStatus.ACTIVE),
        _CARD.c.failed_pin_tries < bindparam("max_tries"),
        func.starts_with(_CARD.c.pin_hash, func.regexp_replace(_PRESENTED, "[^$]*$", "")),
    )
    .values(
        failed_pin_tries=case(
            (_CARD.c.pin_hash == _PRESENTED, 0), else_=_CARD.c.failed_pin_tries + 1
        )
    )
    .returning(_CARD.c.failed_pin_tries)
)
_SET_PIN_HASH = HotStatement(
    update(_CARD).where(_CARD.c.id == bindparam("card_id")).values(pin_hash=bindparam("hash"))
)


def read_card_holder(uow: UnitOfWork, card_no: str) -> CardHolder:
    row = _CARD_HOLDER.one_or_none(uow.hot, {"card_no": card_no})
    if row is None:
        raise unknown_card(card_no)
    return CardHolder(*row)


def unknown_card(card_no: str) -> UnknownCard:
    return UnknownCard(f"no social security card numbered {card_no!r}")


def _try_pin(uow: UnitOfWork, holder: CardHolder, pin: str, on: dt.date) -> int:
    """Under the card's row lock (taken by the holder's read): 0 if the PIN is right (the count
    cleared), else the new count.

    A locked PIN is refused before it meets the hash; a card with no wrong tries needs no
    policy read.
    """
    tries, pin_hash = int(holder.failed_pin_tries), holder.pin_hash
    if pin_hash is None:
        raise WrongPin(f"card {holder.card_no} has no PIN yet; set one at activation")
    if tries and pin_locked(tries, _max_tries(uow, holder.area_code, on)):
        raise PinLocked(
            f"the PIN of card {holder.card_no} is locked; reset it at an agency counter"
        )
    if not _pin_matches(pin_hash, pin):
        _SET_TRIES.rows(uow.hot, {"card_id": holder.card_id, "tries": tries + 1})
        return tries + 1
    if tries:
        _SET_TRIES.rows(uow.hot, {"card_id": holder.card_id, "tries": 0})
    if _needs_renewal(pin_hash, holder.card_no):
        hashed = hash_pin(pin, holder.card_no)
        _SET_PIN_HASH.rows(uow.hot, {"card_id": holder.card_id, "hash": hashed})
    return 0


def _refuse_wrong_pin(card_no: str, tries: int, max_tries: int) -> NoReturn:
    """The try is counted: the PIN is locked at the policy's number of tries."""
    if pin_locked(tries, max_tries):
        raise PinLocked(f"wrong PIN {tries} times: the PIN of card {card_no} is now locked")
    raise WrongPin(f"wrong PIN; {max_tries - tries} tries left before the PIN locks")


def _max_tries(uow: UnitOfWork, area_code: str, on: dt.date) -> int:
    schedule = policy_schedule_hot(uow=uow, area_code=area_code)  # no Session: see pin_checked
    return schedule.for_month(Month.of(on)).pin_max_tries


def hash_pin(pin: str, card_no: str) -> str:
    """The stored form of card `card_no`'s PIN."""
    if not valid_pin(pin):
        raise InvalidInput("pin", "******", "must be exactly 6 digits")
    return _keyed(card_no, pin)


def presented_pin_hash(card_no: str, pin: str) -> str | None:
    """`pin` hashed as card `card_no` holds its PIN's hash once set or renewed (None for a
    malformed PIN): equal to the stored hash if the PIN is right, before the card is read."""
    return _keyed(card_no, pin) if valid_pin(pin) else None


def _keyed(salt: str, pin: str) -> str:
    """The stored form: the salt, and HMAC-SHA256 keyed by the pepper over salt and PIN."""
    digest = hmac.digest(_pin_pepper, f"{salt}${pin}".encode(), "sha256").hex()
    return f"{_KEYED}{salt}${digest}"


def _keyed_as(pin_hash: str, pin: str) -> str:
    """`pin` hashed as the keyed `pin_hash` was, with its salt: equal to it if the PIN is right."""
    return _keyed(pin_hash.removeprefix(_KEYED).split("$", 1)[0], pin)


def _needs_renewal(pin_hash: str, card_no: str) -> bool:
    """An earlier version's hash, or one keyed with another salt than the card's number."""
    return not pin_hash.startswith(f"{_KEYED}{card_no}$")


def _pin_matches(pin_hash: str, pin: str) -> bool:
    if pin_hash.startswith(_KEYED):
        return hmac.compare_digest(pin_hash, _keyed_as(pin_hash, pin))
    try:  # an earlier version's hash: renewed if right
        if pin_hash.startswith(_PEPPERED):
            peppered = hmac.new(_pin_pepper, pin.encode(), hashlib.sha256).hexdigest()
            return _OLDER_ARGON2.verify(pin_hash.removeprefix(_PEPPERED), peppered)
        return _OLDER_ARGON2.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


def _require_card_no(card_no: str) -> None:
    fields.code(card_no, field="card", column=Card.card_no)
    if not (card_no.isascii() and card_no.isalnum()):
        raise InvalidInput("card", card_no, "is not a card number (letters and digits)")
