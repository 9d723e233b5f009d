"""A small real history (scenario 05 replayed, then the institutions cleared) and ways to tamper
with it behind the application's back, as a person with database access might."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, text

from tests.scenario_files import EXAMPLES
from yibao.bootstrap import App
from yibao.scenario.model import load_scenario
from yibao.scenario.replay import replay
from yibao.services.settlement import institution_settlement

SCENARIO = EXAMPLES / "05_spent_to_zero_then_refunded.yaml"
CLEARED_ON = dt.date(2021, 4, 30)


def make_history(engine: Engine) -> App:
    """Three contributions credited, two sales, one refunded, the hospital's payable cleared."""
    replay(load_scenario(SCENARIO), engine)
    app = App(engine)
    for institution in ("P001", "H001"):
        with app.uow() as uow:
            institution_settlement.clear_institution(
                uow=uow, institution_code=institution, day=CLEARED_ON
            )
    return app


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar_one()


def tamper(engine: Engine, sql: str, **params: Any) -> None:
    """Run `sql` as the tables' owner would; on PostgreSQL it lifts the append-only triggers
    (migration 0009) for its own transaction only, as only the owner or a superuser can."""
    on_postgresql = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if on_postgresql:
            connection.execute(text("ALTER TABLE ledger_transfer DISABLE TRIGGER USER"))
        connection.execute(text(sql), params)
        if on_postgresql:
            connection.execute(text("ALTER TABLE ledger_transfer ENABLE TRIGGER USER"))


def first_credit(engine: Engine) -> tuple[int, int]:
    """(transfer id, contribution id) of the first contribution's credit."""
    contribution = int(scalar(engine, "SELECT min(id) FROM contribution WHERE credit_fen > 0"))
    transfer = int(
        scalar(engine, "SELECT id FROM ledger_transfer WHERE key = :k", k=f"credit:c{contribution}")
    )
    return transfer, contribution


def transfer_id(engine: Engine, key: str) -> int:
    return int(scalar(engine, "SELECT id FROM ledger_transfer WHERE key = :k", k=key))


def _update_credit_amount(engine: Engine) -> str:
    transfer, _ = first_credit(engine)
    tamper(
        engine, "UPDATE ledger_transfer SET amount_fen = amount_fen + 100 WHERE id = :t", t=transfer
    )
    return f"transfer {transfer} "


def _delete_credit(engine: Engine) -> str:
    transfer, contribution = first_credit(engine)
    tamper(engine, "DELETE FROM ledger_transfer WHERE id = :t", t=transfer)
    return f"contribution {contribution} has no posting"


def _orphan_reversal(engine: Engine) -> str:
    """The hospital sale reversed as if refunded, though it never was."""
    sale = transfer_id(engine, "settle:H001:RX-0502")
    tamper(
        engine,
        "INSERT INTO ledger_transfer (key, book, debit_account_id, credit_account_id, amount_fen,"
        " value_date, kind, reverses_id, memo) SELECT 'refund:H001:RX-0502', book,"
        " credit_account_id, debit_account_id, amount_fen, value_date, 'reversal:' || kind, id,"
        " '' FROM ledger_transfer WHERE id = :t",
        t=sale,
    )
    return f"transfer {transfer_id(engine, 'refund:H001:RX-0502')} "


def _edit_settlement_personal_fen(engine: Engine) -> str:
    tamper(engine, "UPDATE settlement SET personal_fen = personal_fen - 100 WHERE ref = 'RX-0502'")
    return f"transfer {transfer_id(engine, 'settle:H001:RX-0502')} "


def _edit_contribution_credit_fen(engine: Engine) -> str:
    transfer, contribution = first_credit(engine)
    tamper(
        engine, "UPDATE contribution SET credit_fen = credit_fen + 1 WHERE id = :c", c=contribution
    )
    return f"transfer {transfer} (credit:c{contribution})"


def _edit_credit_fen_and_its_posting(engine: Engine) -> str:
    """Both moved by the same amount, as an edit before the crediting run would leave them."""
    transfer, contribution = first_credit(engine)
    tamper(
        engine,
        "UPDATE contribution SET credit_fen = credit_fen + 100 WHERE id = :c",
        c=contribution,
    )
    tamper(
        engine, "UPDATE ledger_transfer SET amount_fen = amount_fen + 100 WHERE id = :t", t=transfer
    )
    return f"contribution {contribution} stores a credit of "


def _edit_clearing_amount(engine: Engine) -> str:
    clearing = transfer_id(engine, f"clearing:H001:{CLEARED_ON}")
    tamper(
        engine, "UPDATE ledger_transfer SET amount_fen = amount_fen - 100 WHERE id = :t", t=clearing
    )
    return f"transfer {clearing} "


def _settlement_at_no_institution(engine: Engine) -> str:
    """The foreign key went with migration 0028: the check stands for it."""
    sale = int(scalar(engine, "SELECT id FROM settlement WHERE ref = 'RX-0502'"))
    tamper(engine, "UPDATE settlement SET institution_id = 999999 WHERE id = :s", s=sale)
    return f"settlement {sale}: institution_id 999999 names no institution"


def _line_of_no_settlement(engine: Engine) -> str:
    line = int(scalar(engine, "SELECT min(id) FROM settlement_line"))
    tamper(engine, "UPDATE settlement_line SET settlement_id = 999999 WHERE id = :l", l=line)
    return f"settlement line {line}: settlement_id 999999 names no settlement"


def _settlement_paid_by_no_one(engine: Engine) -> str:
    sale = int(scalar(engine, "SELECT id FROM settlement WHERE ref = 'RX-0502'"))
    tamper(engine, "UPDATE settlement SET payer_person_id = 999999 WHERE id = :s", s=sale)
    return f"settlement {sale}: payer_person_id 999999 names no person"


def _national_visit_of_no_person(engine: Engine) -> str:
    """A hospital's visit of this database's insured (no insured area named) whose person is
    not on record; a visit naming another insured area names that area's person, not checked
    here (migration 0030)."""
    hospital = int(scalar(engine, "SELECT id FROM institution WHERE code = 'H001'"))
    for mdtrt_id, area, person in (("TAMPERED-HOME", None, 999999), ("TAMPERED-AWAY", "110000", 5)):
        tamper(
            engine,
            "INSERT INTO national_visit (mdtrt_id, institution_id, insured_area, person_id, kind,"
            " status, insutype, med_type, begins_at, details) VALUES (:m, :h, :a, :p,"
            " 'outpatient', 'open', '310', '11', '2021-03-01 09:00:00', '{}')",
            m=mdtrt_id, h=hospital, a=area, p=person,
        )  # fmt: skip
    visit = int(scalar(engine, "SELECT id FROM national_visit WHERE mdtrt_id = 'TAMPERED-HOME'"))
    return f"national visit {visit}: person_id 999999 names no person"


def _kept_balance_edited(engine: Engine) -> str:
    """The balance a personal account keeps (migration 0029), raised behind the ledger."""
    account = int(scalar(engine, "SELECT min(id) FROM ledger_account WHERE kind = 'personal'"))
    tamper(
        engine, "UPDATE ledger_account SET balance_fen = balance_fen + 1 WHERE id = :a", a=account
    )
    return f"account {account} (personal:"


TAMPERINGS = {
    "credit_amount_updated": ("posting_matches_cause", _update_credit_amount),
    "credit_deleted": ("cause_posted", _delete_credit),
    "orphan_reversal": ("posting_caused", _orphan_reversal),
    "settlement_personal_fen_edited": ("posting_matches_cause", _edit_settlement_personal_fen),
    "contribution_credit_fen_edited": ("posting_matches_cause", _edit_contribution_credit_fen),
    "clearing_amount_edited": ("clearing_owed", _edit_clearing_amount),
    "credit_fen_and_posting_edited": ("credit_follows_policy", _edit_credit_fen_and_its_posting),
    "settlement_at_no_institution": ("references_exist", _settlement_at_no_institution),
    "line_of_no_settlement": ("references_exist", _line_of_no_settlement),
    "settlement_paid_by_no_one": ("references_exist", _settlement_paid_by_no_one),
    "national_visit_of_no_person": ("references_exist", _national_visit_of_no_person),
    "kept_balance_edited": ("kept_balance_matches", _kept_balance_edited),
}
"""name -> (the invariant that must fail, tamper and return text naming the row)"""
