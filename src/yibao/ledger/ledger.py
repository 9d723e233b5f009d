"""Double-entry ledger in integer fen: idempotent transfers, no overdraft, reversals.

A balance is the sum of the transfers into an account minus those out of it; an account that may
not go negative also keeps it on its row, moved by every single posting and, for the credits of a
bulk posting, by its next debit (`balances`). A debit from it first locks that row, so concurrent
debits are serialized and each reads the balance the one before it left (PostgreSQL
`SELECT ... FOR UPDATE`; SQLite transactions begin IMMEDIATE).
On PostgreSQL the transfer table is partitioned by month and each key is claimed in ledger_key
by the statement that posts its transfer (`keys`), so a key stays unique across the months.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, case, func, or_, select, union_all
from sqlalchemy.orm import Session

from yibao.adapters.db import insert_skipping_duplicates
from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import LedgerAccount, LedgerTransfer
from yibao.domain.errors import InvalidInput
from yibao.domain.money import fen_to_yuan
from yibao.ledger import balances, keys
from yibao.ledger.accounts import AccountRef
from yibao.ledger.errors import (
    AlreadyReversed,
    CrossBookTransfer,
    IdempotencyConflict,
    InsufficientFunds,
    UnknownTransfer,
)
from yibao.ledger.kinds import reversal
from yibao.ledger.rules import value_date_refusal

A = cast(Table, LedgerAccount.__table__)
T = cast(Table, LedgerTransfer.__table__)

# The statements of the posting path, built once (settlement runs them for every sale).
_find_account = select(A.c.id).where(A.c.book == bindparam("book"), A.c.code == bindparam("code"))
_FIND_ACCOUNT = HotStatement(_find_account)
_FIND_AND_LOCK_ACCOUNT = HotStatement(_find_account.with_for_update())
_LOCK_ACCOUNT = HotStatement(select(A.c.id).where(A.c.id == bindparam("id")).with_for_update())
_BY_KEY = {  # on PostgreSQL through the key's claim, which names the transfer's partition
    "postgresql": keys.by_key().where(keys.K.c.key == bindparam("key")),
    "sqlite": select(T).where(T.c.key == bindparam("key")),
}
_signed = case(
    (T.c.credit_account_id == bindparam("account"), T.c.amount_fen), else_=-T.c.amount_fen
)
_balance = select(func.coalesce(func.sum(_signed), 0)).where(
    or_(T.c.credit_account_id == bindparam("account"), T.c.debit_account_id == bindparam("account"))
)
_BALANCE = HotStatement(_balance)
_BALANCE_AS_OF = HotStatement(_balance.where(T.c.value_date <= bindparam("as_of")))
# What a debit of a no-overdraft account is checked against, in one pass over its postings.
_STANDING = HotStatement(_balance.add_columns(func.max(T.c.value_date)))
_INSERT_TRANSFER = HotStatement(
    lambda dialect: (
        keys.POST_ONE
        if dialect == "postgresql"
        else insert_skipping_duplicates(dialect, T).on_conflict_do_nothing().returning(T.c.id)
    )
)


@dataclass(frozen=True, slots=True)
class Standing:
    """An account's balance and the value date of its last posting (None: no posting yet)."""

    balance: int
    last_posted_on: dt.date | None


@dataclass(frozen=True, slots=True)
class Transfer:
    id: int
    key: str
    book: str
    debit_account_id: int
    credit_account_id: int
    amount_fen: int
    value_date: dt.date
    kind: str
    reverses_id: int | None
    memo: str


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: int
    book: str
    code: str
    kind: str
    allow_negative: bool


@dataclass(frozen=True, slots=True)
class HistoryLine:
    transfer_id: int
    value_date: dt.date
    kind: str
    amount_fen: int  # positive into the account, negative out of it
    memo: str


class Ledger:
    """The ledger as seen from inside one unit of work (one database transaction)."""

    def __init__(self, session: Session, *, today: Callable[[], dt.date] = dt.date.today) -> None:
        self.session = session
        self.today = today  # the real date, from the entrypoint; tests fix it
        self._ids: dict[tuple[str, str], int] = {}  # account ids met in this unit of work
        self._locked: dict[int, Standing] = {}  # read under this transaction's lock

    # -- accounts -------------------------------------------------------------------------
    def account_id(self, ref: AccountRef) -> int:
        """The id of the account `ref` names, opening it on first use."""
        found = self._find_account(ref)
        if found is not None:
            return found
        self.session.execute(
            self._insert_skipping_duplicates(A)
            .values(
                book=ref.book,
                code=ref.code,
                kind=str(ref.kind),
                allow_negative=ref.allow_negative,
                owner_person_id=ref.owner_person_id,
                balance_fen=balances.opening_balance(ref.allow_negative),
            )
            .on_conflict_do_nothing()
        )  # opened here, or concurrently by another transaction: either way it exists now
        opened = self._find_account(ref)
        assert opened is not None
        return opened

    def find_account(self, ref: AccountRef) -> int | None:
        return self._find_account(ref)

    def _find_account(self, ref: AccountRef) -> int | None:
        cached = self._ids.get((ref.book, ref.code))
        if cached is not None:
            return cached
        found = _FIND_ACCOUNT.scalar_or_none(self.session, {"book": ref.book, "code": ref.code})
        if found is None:
            return None
        self._ids[(ref.book, ref.code)] = int(found)
        return int(found)

    def _insert_skipping_duplicates(self, table: Table) -> Any:
        return insert_skipping_duplicates(self._dialect(), table)

    def _dialect(self) -> str:
        return str(self.session.get_bind().dialect.name)

    # -- moving money -----------------------------------------------------------------------
    def transfer(
        self,
        *,
        key: str,
        debit: AccountRef,
        credit: AccountRef,
        amount_fen: int,
        value_date: dt.date,
        kind: str,
        memo: str = "",
    ) -> Transfer:
        """Move `amount_fen` from `debit` to `credit`, exactly once per `key`."""
        if debit.book != credit.book:
            raise CrossBookTransfer("book", f"{debit.book} -> {credit.book}", "mixes two books")
        if amount_fen <= 0:
            raise InvalidInput("amount", amount_fen, "must be above zero fen")
        debit_id, credit_id = self.account_id(debit), self.account_id(credit)
        return self._post(
            key=key,
            book=debit.book,
            debit_id=debit_id,
            credit_id=credit_id,
            amount_fen=amount_fen,
            value_date=value_date,
            kind=kind,
            memo=memo,
            may_overdraw=debit.allow_negative,
            debit_name=f"the {debit.kind} account",  # no internal ids in messages
        )

    def reverse(
        self, *, original_key: str, key: str, value_date: dt.date, memo: str = ""
    ) -> Transfer:
        """Undo a transfer by posting its mirror image; a transfer is reversed at most once."""
        original = self.get(original_key)
        if original is None:
            raise UnknownTransfer(f"no transfer with key {original_key!r}")
        existing = self.get(key)
        if existing is None and self._reversal_of(original.id) is not None:
            raise AlreadyReversed(f"transfer {original_key!r} was already reversed")
        may_overdraw = bool(
            self.session.execute(
                select(A.c.allow_negative).where(A.c.id == original.credit_account_id)
            ).scalar_one()
        )
        return self._post(
            key=key,
            book=original.book,
            debit_id=original.credit_account_id,
            credit_id=original.debit_account_id,
            amount_fen=original.amount_fen,
            value_date=value_date,
            kind=reversal(original.kind),
            memo=memo,
            may_overdraw=may_overdraw,
            reverses_id=original.id,
        )

    def _post(
        self,
        *,
        key: str,
        book: str,
        debit_id: int,
        credit_id: int,
        amount_fen: int,
        value_date: dt.date,
        kind: str,
        memo: str,
        may_overdraw: bool,
        reverses_id: int | None = None,
        debit_name: str = "",
    ) -> Transfer:
        self._locked.pop(credit_id, None)  # a balance read earlier no longer holds
        if not may_overdraw:
            standing = self._locked.pop(debit_id, None)
            if standing is None:
                self._lock_account(debit_id)
                standing = self.standing(debit_id)
            refusal = _debit_refusal(
                standing, amount_fen, value_date, self.today(), debit_name or "the account"
            )
            if refusal is not None:
                existing = self.get(key)  # a retry of a posting made before?
                if existing is not None:
                    return _same_or_conflict(
                        existing, debit_id, credit_id, amount_fen, kind, reverses_id
                    )
                raise refusal
        values = dict(
            key=key,
            book=book,
            debit_account_id=debit_id,
            credit_account_id=credit_id,
            amount_fen=amount_fen,
            value_date=value_date,
            kind=kind,
            memo=memo[:200],
            reverses_id=reverses_id,
        )
        new_id = _INSERT_TRANSFER.scalar_or_none(self.session, values)
        if new_id is None:  # a retry, the same key posted concurrently, or a reversal's race
            existing = self.get(key)
            if existing is None:
                raise AlreadyReversed(f"transfer {reverses_id} was already reversed")
            return _same_or_conflict(existing, debit_id, credit_id, amount_fen, kind, reverses_id)
        balances.move(
            self.session,
            debit_id=debit_id,
            credit_id=credit_id,
            amount_fen=amount_fen,
            value_date=value_date,
        )
        return Transfer(id=int(new_id), **values)  # type: ignore[arg-type]

    def locked_balance(self, ref: AccountRef) -> int:
        """Lock the account against concurrent debits for this transaction; its balance now."""
        return self.locked_standing(ref).balance

    def locked_standing(self, ref: AccountRef) -> Standing:
        """Lock the account against concurrent debits for this transaction; where it stands."""
        account_id = self._find_and_lock(ref)
        if account_id is None:
            account_id = self.account_id(ref)
            self._lock_account(account_id)
        standing = self.standing(account_id)
        self._locked[account_id] = standing  # the next debit of it here need not sum again
        return standing

    def _find_and_lock(self, ref: AccountRef) -> int | None:
        found = _FIND_AND_LOCK_ACCOUNT.scalar_or_none(
            self.session, {"book": ref.book, "code": ref.code}
        )
        if found is None:
            return None
        self._ids[(ref.book, ref.code)] = int(found)
        return int(found)

    def _lock_account(self, account_id: int) -> None:
        _LOCK_ACCOUNT.rows(self.session, {"id": account_id})

    # -- reading ----------------------------------------------------------------------------
    def get(self, key: str) -> Transfer | None:
        row = self.session.execute(_BY_KEY[self._dialect()], {"key": key}).one_or_none()
        return None if row is None else _transfer(row)

    def _reversal_of(self, transfer_id: int) -> int | None:
        found = self.session.execute(
            select(T.c.id).where(T.c.reverses_id == transfer_id)
        ).scalar_one_or_none()
        return None if found is None else int(found)

    def balance(self, account_id: int, as_of: dt.date | None = None) -> int:
        """Credits minus debits, up to and including `as_of` if given."""
        if as_of is None:
            return int(_BALANCE.scalar_or_none(self.session, {"account": account_id}))
        params = {"account": account_id, "as_of": as_of}
        return int(_BALANCE_AS_OF.scalar_or_none(self.session, params))

    def standing(self, account_id: int) -> Standing:
        """What a debit is checked against: the balance the account keeps, where it may not
        overdraw (`balances`, which folds in the bulk credits it does not hold yet: the caller
        holds the account's lock), else the sum of its transfers."""
        kept = balances.kept(self.session, account_id)
        if kept is not None:
            return Standing(*kept)
        row = _STANDING.one_or_none(self.session, {"account": account_id})
        assert row is not None  # an aggregate: one row
        return Standing(int(row[0]), row[1])

    def balance_of(self, ref: AccountRef, as_of: dt.date | None = None) -> int:
        account_id = self._find_account(ref)
        return 0 if account_id is None else self.balance(account_id, as_of)

    def history(
        self, account_id: int, *, since: dt.date | None = None, until: dt.date | None = None
    ) -> list[HistoryLine]:
        """The account's transfers in posting order, signed from the account's side."""
        signed = case((T.c.credit_account_id == account_id, T.c.amount_fen), else_=-T.c.amount_fen)
        query = select(T.c.id, T.c.value_date, T.c.kind, signed.label("amount"), T.c.memo).where(
            or_(T.c.credit_account_id == account_id, T.c.debit_account_id == account_id)
        )
        if since is not None:
            query = query.where(T.c.value_date >= since)
        if until is not None:
            query = query.where(T.c.value_date <= until)
        rows = self.session.execute(query.order_by(T.c.value_date, T.c.id)).all()
        return [HistoryLine(r.id, r.value_date, r.kind, int(r.amount), r.memo) for r in rows]

    def balances_by_account(self) -> dict[int, int]:
        """Every account's balance in one pass over the transfers."""
        legs = self._legs().subquery()
        rows = self.session.execute(
            select(legs.c.account_id, func.sum(legs.c.amount)).group_by(legs.c.account_id)
        ).all()
        return {int(account_id): int(total) for account_id, total in rows}

    def _legs(self) -> Any:
        """Every transfer as two signed legs: into its credit account, out of its debit account."""
        return union_all(
            select(T.c.credit_account_id.label("account_id"), T.c.amount_fen.label("amount")),
            select(T.c.debit_account_id.label("account_id"), (-T.c.amount_fen).label("amount")),
        )

    def accounts(self) -> list[AccountInfo]:
        rows = self.session.execute(
            select(A.c.id, A.c.book, A.c.code, A.c.kind, A.c.allow_negative).order_by(A.c.id)
        ).all()
        return [AccountInfo(int(r[0]), str(r[1]), str(r[2]), str(r[3]), bool(r[4])) for r in rows]


def _transfer(row: Row[tuple[object, ...]]) -> Transfer:
    m = row._mapping
    return Transfer(
        id=int(m["id"]),
        key=str(m["key"]),
        book=str(m["book"]),
        debit_account_id=int(m["debit_account_id"]),
        credit_account_id=int(m["credit_account_id"]),
        amount_fen=int(m["amount_fen"]),
        value_date=m["value_date"],
        kind=str(m["kind"]),
        reverses_id=None if m["reverses_id"] is None else int(m["reverses_id"]),
        memo=str(m["memo"]),
    )


def _debit_refusal(
    standing: Standing, amount_fen: int, value_date: dt.date, today: dt.date, account: str
) -> Exception | None:
    """Why this debit of a no-overdraft account may not be posted, or None."""
    refusal = value_date_refusal(
        value_date, today=today, last_posted_on=standing.last_posted_on, account=account
    )
    if refusal is not None:
        return refusal
    if standing.balance < amount_fen:
        return InsufficientFunds(
            f"the account holds {fen_to_yuan(standing.balance)} yuan; "
            f"{fen_to_yuan(amount_fen)} yuan were asked"
        )
    return None


def _same_or_conflict(
    existing: Transfer,
    debit_id: int,
    credit_id: int,
    amount_fen: int,
    kind: str,
    reverses_id: int | None,
) -> Transfer:
    """A retry with the same key: same content returns the first result, other content fails.

    The value date and memo are not compared: a retry may come on a later day.
    """
    asked = (debit_id, credit_id, amount_fen, kind, reverses_id)
    found = (
        existing.debit_account_id,
        existing.credit_account_id,
        existing.amount_fen,
        existing.kind,
        existing.reverses_id,
    )
    if found != asked:
        raise IdempotencyConflict(
            f"key {existing.key!r} was used for a different transfer "
            f"({existing.amount_fen} fen, {existing.kind}); use a new key"
        )
    return existing
