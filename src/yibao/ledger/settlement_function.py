"""The PostgreSQL `post_settlement` function, behind the ledger: its SQL and its one call.

Its text lives in one versioned file, `sql/post_settlement.sql`, shipped with the package;
migrations 0008, 0013, 0017, 0014, 0021, 0025 (its transfers' keys claimed in ledger_key),
0027 and 0029 (the account's kept balance) install it and a test compares it with the body the
database holds.
SQLite has no such function: `services.settlement.posting` takes the same steps through `Ledger`.
A sale can also call it in the statement that reads its card or its electronic card's holder
(`called_after`): one round trip, where the read alone would have cost one of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, func, select, text, true
from sqlalchemy.exc import IntegrityError

from yibao.adapters.hot import HotStatement, Runner
from yibao.ledger.keys import claimed_before

SIGNATURE = (
    "post_settlement(text, text, text, bigint, text, bigint, bigint, bigint, date, text, "
    "bigint, bigint, json, text, text, text, date, text, text, text, bigint, bigint, text, "
    "text, text, text, text, text, text, text, integer)"
)


OUTCOME = (
    "outcome", "new_settlement_id", "new_personal_fen", "new_balance_after_fen",
    "last_posted_on", "new_fund_fen", "new_deductible_fen", "pin_tries",
)  # fmt: skip
PARAMETERS = (
    "book", "account_code", "payable_code", "institution_id", "ref", "payer_person_id",
    "patient_person_id", "card_id", "settled_on", "fingerprint", "total_fen", "eligible_fen",
    "lines", "transfer_key", "transfer_kind", "memo", "today", "evoucher_nonce", "visit",
    "ratio", "deductible_rule_fen", "annual_cap_fen", "pool_code", "fund_key", "fund_kind",
    "insutype", "psn_type", "med_type", "clr_type", "pin_hash", "pin_max_tries",
)  # fmt: skip


_CALL = HotStatement(
    text(
        f"SELECT {', '.join(OUTCOME)} "
        f"FROM post_settlement({', '.join(':' + name for name in PARAMETERS)})"
    )
)


def called_after(
    read: Subquery,
    where: ColumnElement[bool],
    arguments: Callable[[Sequence[ColumnElement[Any]]], Mapping[str, Any]],
) -> Select[Any]:
    """One statement: the rows `read` finds, each with the outcome (`OUTCOME`) of the sale
    `arguments` describe (SQL over the read's columns, in their order, or bound values),
    posted where `where` holds of the row; where it does not, the function is not called,
    nothing is written and the outcome is NULL. (A condition on the function's own row would
    be applied after the call: the row the function reads from is what the condition gates.)"""
    # OFFSET 0 keeps the planner from pulling the gate up into the join, past the call.
    gate = select(*read.c).where(where).offset(0).correlate(read).lateral("sale_read")
    given = arguments(list(gate.c))
    posting = (
        func.post_settlement(*(given[name] for name in PARAMETERS))
        .table_valued(*OUTCOME)
        .lateral("sale")
    )
    posted = (
        select(*posting.c).select_from(gate).join(posting, true()).correlate(read).lateral("posted")
    )
    return select(read, posted).select_from(read.outerjoin(posted, true()))


def called_after_rows(runner: Runner, statement: HotStatement, params: Mapping[str, Any]) -> Any:
    """The one row of a `called_after` statement, or None if it found none; a transfer key
    another posting holds fails the statement (nothing is written): then the string
    `transfer_key_taken`."""
    try:
        return statement.one_or_none(runner, params)
    except IntegrityError as refused:
        if not claimed_before(refused):
            raise
        return "transfer_key_taken"


def definition() -> str:
    """The CREATE OR REPLACE FUNCTION statement, as the package ships it."""
    return resources.files("yibao.ledger").joinpath("sql/post_settlement.sql").read_text()


def body() -> str:
    """What PostgreSQL keeps of the function as its source (`pg_proc.prosrc`)."""
    return definition().split("$body$")[1]


def call(runner: Runner, params: Mapping[str, Any]) -> Sequence[Any]:
    """(outcome, settlement id, personal fen, balance after, last posted on, fund fen,
    deductible fen, wrong PIN tries) of one sale. A transfer key another posting holds fails
    the call on its claim (nothing is written): the outcome `transfer_key_taken`."""
    try:
        row = _CALL.one_or_none(runner, params)
    except IntegrityError as refused:
        if not claimed_before(refused):
            raise
        return ("transfer_key_taken", None, 0, None, None, 0, 0, None)
    assert row is not None  # the function returns one row
    return row
