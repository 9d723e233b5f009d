"""`yibao ledger check` reconciles every posting with its cause, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, String, literal, select, text
from sqlalchemy.exc import DBAPIError

from tests.integration.tampering import (
    SCENARIO,
    TAMPERINGS,
    first_credit,
    make_history,
    scalar,
    tamper,
    transfer_id,
)
from yibao.adapters.tables import Person
from yibao.bootstrap import App
from yibao.domain.idnumber import make_id_number
from yibao.domain.months import Month, age_on
from yibao.ledger.check import Problem, check_ledger
from yibao.ledger.credits import age_in_sql
from yibao.scenario.model import load_scenario
from yibao.scenario.replay import replay
from yibao.services import registry, settlement


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


def test_a_visit_of_another_insured_area_names_that_areas_person_not_this_databases(
    engine: Engine,
) -> None:
    """Its person is a number of the insured area's database (migration 0030): not dangling
    here, where the home visit beside it is."""
    make_history(engine)
    _, tampered = TAMPERINGS["national_visit_of_no_person"]
    home = tampered(engine)
    away = int(scalar(engine, "SELECT id FROM national_visit WHERE mdtrt_id = 'TAMPERED-AWAY'"))
    dangling = [p.detail for p in _problems(engine) if p.invariant == "references_exist"]
    assert any(home in detail for detail in dangling)
    assert not any(f"national visit {away}:" in detail for detail in dangling), dangling


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


# -- credits recomputed from the policy ---------------------------------------------------
def test_a_credit_edited_with_its_posting_is_found_by_recomputing_it(engine: Engine) -> None:
    """credit_fen and the credit posting moved together reconcile; the policy still disagrees."""
    make_history(engine)
    transfer, contribution = first_credit(engine)
    right = scalar(engine, "SELECT credit_fen FROM contribution WHERE id = :c", c=contribution)
    month = scalar(engine, "SELECT month FROM contribution WHERE id = :c", c=contribution)
    tamper(
        engine, "UPDATE contribution SET credit_fen = credit_fen + 7 WHERE id = :c", c=contribution
    )
    tamper(
        engine, "UPDATE ledger_transfer SET amount_fen = amount_fen + 7 WHERE id = :t", t=transfer
    )
    tamper(  # and the balance the account keeps, if a sale folded the credit into it: a
        engine,  # careful edit leaves no other trace
        "UPDATE ledger_account SET balance_fen = balance_fen + 7 WHERE id = "
        "(SELECT credit_account_id FROM ledger_transfer WHERE id = :t) AND NOT EXISTS "
        "(SELECT 1 FROM ledger_transfer t WHERE t.id = :t "
        "AND t.batch_id > ledger_account.folded_batch_id)",
        t=transfer,
    )
    assert _problems(engine) == [
        Problem(
            "credit_follows_policy",
            f"contribution {contribution} stores a credit of {right + 7} fen; "
            f"the policy of {month} gives {right} fen",
        )
    ]


def test_a_credit_is_recomputed_at_the_holders_age_on_the_first_of_its_month(
    engine: Engine,
) -> None:
    """The holder made 26, not 48: a smaller employer share was due (the 2015 age bands)."""
    make_history(engine)
    _, contribution = first_credit(engine)
    tamper(
        engine,
        "UPDATE person SET birth_date = :born WHERE id ="
        " (SELECT person_id FROM contribution WHERE id = :c)",
        born=dt.date(1995, 1, 1),
        c=contribution,
    )
    found = [p.detail for p in _problems(engine) if p.invariant == "credit_follows_policy"]
    assert f"contribution {contribution} stores a credit of " in found[0]


def test_the_age_in_sql_is_age_on(engine: Engine) -> None:
    """`age_in_sql` is `age_on` the first of the month: birthdays on the 1st, the 2nd, 29 Feb."""
    births = [
        dt.date(1990, 3, 1),
        dt.date(1990, 3, 2),
        dt.date(1990, 2, 28),
        dt.date(1992, 2, 29),
        dt.date(1990, 12, 31),
        dt.date(2000, 1, 1),
        dt.date(2024, 3, 1),
    ]
    months = ["2024-03", "2024-02", "2024-01", "2023-12", "2025-03"]
    app = App(engine)
    with app.uow() as uow:
        registry.load_area(uow=uow, document=load_scenario(SCENARIO).area)
        for sequence, born in enumerate(births):
            registry.add_person(
                uow=uow,
                id_number=make_id_number("420102", born, sequence),
                name=f"Person {sequence}",
                area_code="420100",
            )
    with app.uow() as uow:
        for month in months:
            rows = uow.session.execute(
                select(Person.birth_date, age_in_sql(literal(month, String), Person.birth_date))
            ).all()
            first = Month.parse(month).first_day
            assert sorted(rows) == sorted((born, age_on(born, first)) for born in births), month


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
