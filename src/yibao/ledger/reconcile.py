"""The ledger reconciled with the records that caused each posting, set-based.

`causes.expected_postings` says, for every record that moves money, the posting it expects. One
full outer join of those with the postings of the same kinds finds a posting without its cause,
a cause without its posting, and a posting that differs from its cause; nothing is read row by
row into Python, so the check stays a few passes over each table.

Kinds without a cause table (the bank counter's deposits, withdrawals and transfers) are listed
in UNCAUSED with the key prefix their writer gives them; a clearing is checked against what the
institution was owed when it was posted. Any other kind is a problem.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, and_, exists, func, literal, or_, select, true
from sqlalchemy.orm import Session

from yibao.adapters.tables import (
    FamilyBinding,
    Institution,
    LedgerAccount,
    LedgerTransfer,
    Settlement,
)
from yibao.ledger.causes import KINDS as CAUSED
from yibao.ledger.causes import expected_postings
from yibao.ledger.credits import recomputed_credits
from yibao.ledger.pooled_usage import pooled_usage_problems
from yibao.ledger.problems import Problem
from yibao.ledger.references import dangling_references
from yibao.ledger.whole_tables import read_whole_tables

A = LedgerAccount.__table__
T = LedgerTransfer.__table__
S = Settlement.__table__
I = Institution.__table__  # noqa: E741 - the institution table, as in the SQL it mirrors
F = FamilyBinding.__table__

UNCAUSED = {"deposit": "deposit:", "withdrawal": "withdraw:", "bank_transfer": "bank-transfer:"}
CLEARING = "clearing"
KNOWN = (*CAUSED, *UNCAUSED, CLEARING)


def reconcile(session: Session) -> list[Problem]:
    """Every posting against its cause, and every cause against its posting."""
    read_whole_tables(session)
    return (
        _matched(session, expected_postings(session))
        + _unknown_kinds(session)
        + _uncaused_keys(session)
        + _clearings(session)
        + _merges_in_and_out(session)
        + _receipts(session)
        + _family_aid(session)
        + pooled_usage_problems(session)
        + recomputed_credits(session)
        + dangling_references(session)
    )


# -- the comparison -------------------------------------------------------------------------
def _matched(session: Session, expected: Any) -> list[Problem]:
    debit, credit = A.alias("debit"), A.alias("credit")
    posted = (
        select(
            T.c.id,
            T.c.key,
            T.c.kind,
            T.c.book,
            T.c.amount_fen,
            debit.c.code.label("debit_code"),
            credit.c.code.label("credit_code"),
        )
        .outerjoin(debit, debit.c.id == T.c.debit_account_id)
        .outerjoin(credit, credit.c.id == T.c.credit_account_id)
        .where(T.c.kind.in_(CAUSED))
        .subquery("posted")
    )
    e, t = expected.c, posted.c
    differs = or_(
        t.kind != e.kind,
        t.book != e.book,
        and_(e.amount.is_not(None), t.amount_fen != e.amount),
        and_(e.debit_code.is_not(None), func.coalesce(t.debit_code, "") != e.debit_code),
        and_(e.credit_code.is_not(None), func.coalesce(t.credit_code, "") != e.credit_code),
    )
    rows = session.execute(
        select(
            t.id, t.key, t.kind, t.amount_fen, t.debit_code, t.credit_code,
            e.key, e.kind, e.amount, e.debit_code, e.credit_code, e.cause,
        )
        .select_from(expected)
        .join(posted, t.key == e.key, full=True)
        .where(
            or_(
                t.id.is_(None) & (e.required == true()),
                e.key.is_(None),
                t.id.is_not(None) & e.key.is_not(None) & differs,
            )
        )
        .order_by(t.id, e.key)
    ).all()  # fmt: skip
    return [_mismatch(row) for row in rows]


def _mismatch(row: Any) -> Problem:
    (tid, key, kind, fen, debit, credit, e_key, e_kind, e_fen, e_debit, e_credit, cause) = row
    if tid is None:
        return Problem("cause_posted", f"{cause} has no posting (expected key {e_key})")
    if e_key is None:
        return Problem("posting_caused", f"transfer {tid} ({kind} {key}) has no cause")
    found = f"{kind} {fen} fen {debit} -> {credit}"
    wanted = f"{e_kind} {'?' if e_fen is None else e_fen} fen {e_debit} -> {e_credit or '?'}"
    return Problem(
        "posting_matches_cause", f"transfer {tid} ({key}) is {found}; {cause} says {wanted}"
    )


def _unknown_kinds(session: Session) -> list[Problem]:
    rows = session.execute(
        select(T.c.id, T.c.kind).where(T.c.kind.not_in(KNOWN)).order_by(T.c.id)
    ).all()
    return [
        Problem("known_kind", f"transfer {tid} is of kind {kind!r}, which no writer posts")
        for tid, kind in rows
    ]


def _uncaused_keys(session: Session) -> list[Problem]:
    """The bank counter's postings have no cause table: their key must still be their own."""
    wrong = or_(
        *(
            and_(T.c.kind == kind, ~T.c.key.startswith(prefix, autoescape=True))
            for kind, prefix in UNCAUSED.items()
        )
    )
    rows = session.execute(select(T.c.id, T.c.kind, T.c.key).where(wrong).order_by(T.c.id)).all()
    return [
        Problem("posting_caused", f"transfer {tid} ({kind}) has key {key!r}, not {UNCAUSED[kind]}…")
        for tid, kind, key in rows
    ]


def _clearings(session: Session) -> list[Problem]:
    """A clearing pays the institution what its payable held as of the clearing's day, counting
    the postings made before it (what `clear_institution` read), and nothing else."""
    before = T.alias("before")
    earlier = and_(before.c.id < T.c.id, before.c.value_date <= T.c.value_date)

    def moved(column: str) -> Any:
        return (
            select(func.coalesce(func.sum(before.c.amount_fen), 0))
            .where(before.c[column] == T.c.debit_account_id, earlier)
            .scalar_subquery()
        )

    owed = (moved("credit_account_id") - moved("debit_account_id")).label("owed")
    debit, credit = A.alias("debit"), A.alias("credit")
    clearings = (
        select(T.c.id, T.c.key, T.c.amount_fen, debit.c.code, credit.c.code.label("to"), owed)
        .outerjoin(debit, debit.c.id == T.c.debit_account_id)
        .outerjoin(credit, credit.c.id == T.c.credit_account_id)
        .where(T.c.kind == CLEARING)
        .subquery()
    )
    rows = session.execute(
        select(clearings)
        .where(
            or_(
                clearings.c.amount_fen != clearings.c.owed,
                func.coalesce(clearings.c.to, "") != "settlement_clearing",
                ~clearings.c.key.startswith(
                    literal("clearing:", String)
                    + func.substr(func.coalesce(clearings.c.code, ""), len("payable:") + 1)
                    + literal(":", String)
                ),
                ~func.coalesce(clearings.c.code, "").startswith("payable:"),
            )
        )
        .order_by(clearings.c.id)
    ).all()
    return [
        Problem(
            "clearing_owed",
            f"transfer {tid} ({key}) clears {fen} fen from {code} to {to}; {owed} fen were owed",
        )
        for tid, key, fen, code, to, owed in rows
    ]


def _merges_in_and_out(session: Session) -> list[Problem]:
    """Across areas, what left the old area's book is what entered the new one's."""

    def legs(kind: str, prefix: str) -> Any:
        return (
            select(T.c.id, T.c.amount_fen, func.substr(T.c.key, len(prefix) + 1).label("link"))
            .where(T.c.kind == kind)
            .subquery()
        )

    out = legs("records_transfer_out", "merge-out:")
    into = legs("records_transfer_in", "merge-in:")
    rows = session.execute(
        select(out.c.id, out.c.amount_fen, into.c.id, into.c.amount_fen)
        .select_from(out)
        .join(into, into.c.link == out.c.link, full=True)
        .where(
            or_(
                out.c.id.is_(None),
                into.c.id.is_(None),
                out.c.amount_fen != into.c.amount_fen,
            )
        )
    ).all()
    return [
        Problem(
            "merge_moves_balance",
            f"transfer {out_id or '-'} moved {out_fen or 0} fen out of an area, "
            f"transfer {in_id or '-'} moved {in_fen or 0} fen into the other",
        )
        for out_id, out_fen, in_id, in_fen in rows
    ]


def _receipts(session: Session) -> list[Problem]:
    """A receipt adds up: the fund and the account paid parts of the eligible amount, the
    person the rest."""
    rows = session.execute(
        select(
            I.c.code, S.c.ref, S.c.total_fen, S.c.eligible_fen, S.c.fund_fen, S.c.personal_fen,
            S.c.own_fen,
        )
        .join(I, I.c.id == S.c.institution_id)
        .where(
            or_(
                S.c.fund_fen + S.c.personal_fen + S.c.own_fen != S.c.total_fen,
                S.c.fund_fen + S.c.personal_fen > S.c.eligible_fen,
                S.c.personal_fen < 0,
                S.c.fund_fen < 0,
            )
        )
        .order_by(S.c.id)
    ).all()  # fmt: skip
    return [
        Problem(
            "receipt_adds_up",
            f"settlement {code}/{ref}: total {total}, eligible {eligible}, fund {fund}, "
            f"personal account {personal}, own {own} fen",
        )
        for code, ref, total, eligible, fund, personal, own in rows
    ]


def _family_aid(session: Session) -> list[Problem]:
    """Another person's account paid only for a family member bound on the day of the sale."""
    bound = exists().where(
        F.c.payer_person_id == S.c.payer_person_id,
        F.c.member_person_id == S.c.patient_person_id,
        F.c.bound_on <= S.c.settled_on,
        or_(F.c.unbound_on.is_(None), F.c.unbound_on > S.c.settled_on),
    )
    rows = session.execute(
        select(I.c.code, S.c.ref, S.c.payer_person_id, S.c.patient_person_id)
        .join(I, I.c.id == S.c.institution_id)
        .where(S.c.payer_person_id != S.c.patient_person_id, S.c.personal_fen > 0, ~bound)
        .order_by(S.c.id)
    ).all()
    return [
        Problem(
            "family_aid_bound",
            f"settlement {code}/{ref}: person {payer} paid for person {patient}, not bound then",
        )
        for code, ref, payer, patient in rows
    ]
