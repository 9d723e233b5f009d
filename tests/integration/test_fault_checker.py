"""The fault run's checker finds what it is there to find: on a sound history it finds nothing;
a doubled posting, a half-posted sale, a negative balance or a missing acknowledged sale each
make a violation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from tests.faults.checker import Outcome, check
from tests.integration.tampering import make_history, scalar, tamper

SALE = Outcome("settlement", "H001", "RX-0502", acknowledged=True, refused=False)


def _doubled_posting(engine: Engine) -> None:
    tamper(
        engine,
        "INSERT INTO ledger_transfer (key, book, debit_account_id, credit_account_id, amount_fen,"
        " value_date, kind, memo) SELECT key || :again, book, debit_account_id,"
        " credit_account_id, amount_fen, value_date, kind, memo FROM ledger_transfer"
        " WHERE key = 'settle:H001:RX-0502'",
        again=":again",
    )


def _half_posted_sale(engine: Engine) -> None:
    tamper(engine, "DELETE FROM ledger_transfer WHERE key = 'settle:H001:RX-0502'")


def _negative_balance(engine: Engine) -> None:
    tamper(
        engine,
        "INSERT INTO ledger_transfer (key, book, debit_account_id, credit_account_id, amount_fen,"
        " value_date, kind, memo) SELECT 'overdraft', book, debit_account_id, credit_account_id,"
        " 10000000, value_date, kind, memo FROM ledger_transfer"
        " WHERE key = 'settle:H001:RX-0502'",
    )


def _acknowledged_sale_missing(engine: Engine) -> None:
    settlement = int(scalar(engine, "SELECT id FROM settlement WHERE ref = 'RX-0502'"))
    tamper(engine, "DELETE FROM ledger_transfer WHERE key = 'settle:H001:RX-0502'")
    tamper(engine, "DELETE FROM settlement_line WHERE settlement_id = :s", s=settlement)
    tamper(engine, "DELETE FROM settlement WHERE id = :s", s=settlement)


def test_a_sound_history_has_no_violation(engine: Engine) -> None:
    make_history(engine)
    assert check(engine, [SALE]) == []


@pytest.mark.parametrize(
    ("fault", "found"),
    [
        (_doubled_posting, "has no settlement"),
        (_half_posted_sale, "posted []"),
        (_negative_balance, "closed"),
        (_acknowledged_sale_missing, "is missing"),
    ],
)
def test_the_checker_finds_each_fault(
    engine: Engine, fault: Callable[[Engine], None], found: str
) -> None:
    make_history(engine)
    fault(engine)
    violations = check(engine, [SALE])
    assert violations, "the checker missed the fault"
    assert any(found in v for v in violations), violations
