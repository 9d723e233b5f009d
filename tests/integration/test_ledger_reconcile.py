"""`yibao ledger check` reconciles every posting with its cause, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.integration.tampering import (
    SCENARIO,
    TAMPERINGS,
    first_credit,
    make_history,
    tamper,
    transfer_id,
)
from yibao.bootstrap import App
from yibao.ledger.check import Problem, check_ledger
from yibao.services import settlement
from yibao.services.scenario.model import load_scenario
from yibao.services.scenario.replay import replay


def _problems(engine: Engine) -> list[Problem]:
    with App(engine).uow() as uow:
        return check_ledger(uow.ledger)


def test_a_real_history_reconciles_with_every_cause(engine: Engine) -> None:
    make_history(engine)
    assert _problems(engine) == []


@pytest.mark.parametrize("path", sorted(SCENARIO.parent.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_public_scenario_leaves_a_ledger_that_reconciles(path: Path, engine: Engine) -> None:
    replay(load_scenario(path), engine)
    assert _problems(engine) == []


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_tampering_behind_the_application_is_found_and_the_row_named(
    name: str, engine: Engine
) -> None:
    make_history(engine)
    invariant, tampered = TAMPERINGS[name]
    row = tampered(engine)
    found = [p.detail for p in _problems(engine) if p.invariant == invariant]
    assert any(row in detail for detail in found), (row, _problems(engine))


def test_a_posting_of_a_kind_no_writer_posts_is_a_problem(engine: Engine) -> None:
    make_history(engine)
    credit, _ = first_credit(engine)
    tamper(
        engine,
        "INSERT INTO ledger_transfer (key, book, debit_account_id, credit_account_id, amount_fen,"
        " value_date, kind, memo) SELECT 'bonus:1', book, debit_account_id, credit_account_id,"
        " 1, value_date, 'bonus', '' FROM ledger_transfer WHERE id = :t",
        t=credit,
    )
    bonus = transfer_id(engine, "bonus:1")
    assert Problem("known_kind", f"transfer {bonus} is of kind 'bonus', which no writer posts") in (
        _problems(engine)
    )


def test_a_completed_run_that_skipped_a_contribution_is_a_problem(engine: Engine) -> None:
    """The credit deleted and the run's record kept: the contribution has no posting."""
    make_history(engine)
    _, contribution = first_credit(engine)
    tamper(engine, "DELETE FROM ledger_transfer WHERE key = :k", k=f"credit:c{contribution}")
    assert Problem(
        "cause_posted",
        f"contribution {contribution} has no posting (expected key credit:c{contribution})",
    ) in _problems(engine)


# -- PostgreSQL: postings are append-only in the database itself ------------------------------
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_transfer SET amount_fen = amount_fen + 1 WHERE id = :t",
        "DELETE FROM ledger_transfer WHERE id = :t",
        "TRUNCATE ledger_transfer CASCADE",
    ],
    ids=["update", "delete", "truncate"],
)
def test_postgresql_refuses_to_rewrite_a_posting(pg_engine: Engine, statement: str) -> None:
    make_history(pg_engine)
    credit, _ = first_credit(pg_engine)
    with pytest.raises(DBAPIError, match="append-only"), pg_engine.begin() as connection:
        connection.execute(text(statement), {"t": credit})
    with pg_engine.connect() as connection:
        still = connection.execute(
            text("SELECT amount_fen FROM ledger_transfer WHERE id = :t"), {"t": credit}
        ).scalar_one()
    assert still > 0
    assert _problems(pg_engine) == []


def test_postgresql_still_takes_new_postings(pg_engine: Engine) -> None:
    """Append-only is not read-only: a refund after the triggers are in place posts as before."""
    app = make_history(pg_engine)
    with app.uow() as uow:
        settlement.refund(uow=uow, ref="RX-0502", on=dt.date(2021, 5, 3))
    assert _problems(pg_engine) == []
