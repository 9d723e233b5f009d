"""The PostgreSQL `post_settlement` function, behind the ledger: its SQL and its one call.

Its text lives in one versioned file, `sql/post_settlement.sql`, shipped with the package;
migrations 0008, 0013, 0017, 0014, 0021, 0025 (its transfers' keys claimed in ledger_key),
0027 and 0029 (the account's kept balance) install it and a test compares it with the body the
database holds.
SQLite has no such function: `services.settlement.posting` takes the same steps through `Ledger`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from yibao.adapters.hot import HotStatement, Runner
from yibao.ledger.keys import claimed_before

SIGNATURE = (
    "post_settlement(text, text, text, bigint, text, bigint, bigint, bigint, date, text, "
    "bigint, bigint, json, text, text, text, date, text, text, text, bigint, bigint, text, "
    "text, text, text, text, text, text, text, integer)"
)

_CALL = HotStatement(
    text(
        "SELECT outcome, new_settlement_id, new_personal_fen, new_balance_after_fen, "
        "last_posted_on, new_fund_fen, new_deductible_fen, pin_tries "
        "FROM post_settlement(:book, :account_code, :payable_code, :institution_id, :ref, "
        ":payer_person_id, :patient_person_id, :card_id, :settled_on, :fingerprint, "
        ":total_fen, :eligible_fen, :lines, :transfer_key, :transfer_kind, :memo, :today, "
        ":evoucher_nonce, :visit, :ratio, :deductible_rule_fen, :annual_cap_fen, :pool_code, "
        ":fund_key, :fund_kind, :insutype, :psn_type, :med_type, :clr_type, :pin_hash, "
        ":pin_max_tries)"
    )
)


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
