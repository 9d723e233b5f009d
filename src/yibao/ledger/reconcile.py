"""The ledger reconciled with the records that caused each posting, set-based.

Every record that moves money says which posting it expects: its key, kind, book, amount and
accounts. One full outer join of those expectations with the postings of the same kinds finds
a posting without its cause, a cause without its posting, and a posting that differs from its
cause; nothing is read row by row into Python, so the check stays one pass over each table.

A cause is expected to be posted (`required`) once the writer that posts it has certainly run:
a payment's medical amounts when it is recorded; a credit once a crediting run of its area that
read it has completed; a settlement and its refund when they are written. A merge posts only if
the record it empties held money, so its postings are checked but not required.

Kinds without a cause table (the bank counter's deposits, withdrawals and transfers) are listed
in UNCAUSED with the key prefix their writer gives them; clearings are checked against what the
institution was owed when the clearing was posted. Any other kind is a problem.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from yibao.adapters.tables import (
    AreaPolicy,
    Contribution,
    CreditingRun,
    Enrollment,
    FamilyBinding,
    Institution,
    LedgerAccount,
    LedgerTransfer,
    Person,
    RecordLink,
    Settlement,
)
from yibao.domain.months import Month
from yibao.domain.policy import schedule_from_list
from yibao.domain.schemes import Scheme
from yibao.ledger.problems import Problem

A = LedgerAccount.__table__
T = LedgerTransfer.__table__
C = Contribution.__table__
E = Enrollment.__table__
R = CreditingRun.__table__
S = Settlement.__table__
I = Institution.__table__  # noqa: E741 - the institution table, as in the SQL it mirrors
P = Person.__table__
L = RecordLink.__table__
F = FamilyBinding.__table__

CAUSED = (
    "contribution",
    "crediting",
    "retiree_crediting",
    "settlement",
    "family_settlement",
    "reversal:settlement",
    "reversal:family_settlement",
    "records_merge",
    "records_transfer_out",
    "records_transfer_in",
)
UNCAUSED = {"deposit": "deposit:", "withdrawal": "withdraw:", "bank_transfer": "bank-transfer:"}
CLEARING = "clearing"
KNOWN = (*CAUSED, *UNCAUSED, CLEARING)

_COLUMNS = ("key", "kind", "book", "amount", "debit_code", "credit_code", "cause", "required")


def reconcile(session: Session) -> list[Problem]:
    """Every posting against its cause, and every cause against its posting."""
    return (
        _matched(session, _expected(session))
        + _unknown_kinds(session)
        + _uncaused_keys(session)
        + _clearings(session)
        + _merges_in_and_out(session)
        + _receipts(session)
        + _family_aid(session)
    )


# -- what each cause expects ----------------------------------------------------------------
def _text(value: Any) -> ColumnElement[str]:
    return cast(value, String)


def _medical_book(area_code: Any) -> ColumnElement[str]:
    return literal("medical:", String) + _text(area_code)


def _expected(session: Session) -> Any:
    parts: list[Select[Any]] = [
        _contributions(),
        _credits(),
        *_settlements(),
        *_merges(),
    ]
    retirees = _retiree_credits(session)
    if retirees is not None:
        parts.append(retirees)
    return union_all(*parts).subquery("expected")


def _row(**columns: Any) -> list[Any]:
    return [columns[name].label(name) for name in _COLUMNS]


def _contributions() -> Select[Any]:
    """Recording a payment posts its medical amounts from contribution income to the pool."""
    fen = C.c.medical_employer_fen + C.c.medical_person_fen
    return select(
        *_row(
            key=literal("contribution:", String) + _text(C.c.id),
            kind=literal("contribution", String),
            book=_medical_book(C.c.area_code),
            amount=fen,
            debit_code=literal("contribution_income", String),
            credit_code=literal("pooled_fund", String),
            cause=literal("contribution ", String) + _text(C.c.id),
            required=true(),
        )
    ).where(fen > 0)


def _credits() -> Select[Any]:
    """A contribution's credit, from the pool, once a completed run of its area has read it.

    The credited account is not compared: a merge moves the contribution to the record that
    stays, while its credit stays posted to the account it was paid into.
    """
    credited_through = (
        select(R.c.area_code, func.max(R.c.run_date).label("through"))
        .where(R.c.completed_at.is_not(None))
        .group_by(R.c.area_code)
        .subquery()
    )
    return (
        select(
            *_row(
                key=literal("credit:c", String) + _text(C.c.id),
                kind=literal("crediting", String),
                book=_medical_book(C.c.area_code),
                amount=C.c.credit_fen,
                debit_code=literal("pooled_fund", String),
                credit_code=null(),
                cause=literal("contribution ", String) + _text(C.c.id),
                required=case(
                    (C.c.received_on <= credited_through.c.through, true()), else_=false()
                ),
            )
        )
        .outerjoin(credited_through, credited_through.c.area_code == C.c.area_code)
        .where(C.c.credit_fen > 0)
    )


def _retiree_credits(session: Session) -> Select[Any] | None:
    """Each run's fixed credit to every retiree enrolled on its day, at its month's amount.

    The amount comes from the policy of the run's month (a handful of runs, read here); a
    retiree whose record was later merged into another was credited under the old record.
    """
    amounts = _retiree_amounts(session)
    if not amounts:
        return None
    runs = union_all(
        *(
            select(
                literal(area, String).label("area_code"),
                literal(month, String).label("month"),
                literal(fen).label("fen"),
            )
            for (area, month), fen in amounts.items()
        )
    ).subquery("retiree_amount")
    retired = and_(
        E.c.area_code == R.c.area_code,
        E.c.scheme == str(Scheme.RETIREE),
        E.c.starts_on <= R.c.run_date,
        or_(E.c.ends_on.is_(None), E.c.ends_on > R.c.run_date),
    )
    staying = select(
        E.c.person_id.label("person_id"), R.c.id.label("run_id"), true().label("required")
    ).where(retired)
    merged = (
        select(L.c.other_person_id, R.c.id, false())
        .join(E, E.c.person_id == L.c.person_id)
        .where(retired, L.c.merged_on > R.c.run_date)
    )
    credited = union_all(staying, merged).subquery("credited")
    return (
        select(
            *_row(
                key=literal("retiree:p", String)
                + _text(credited.c.person_id)
                + literal(":", String)
                + R.c.month,
                kind=literal("retiree_crediting", String),
                book=_medical_book(R.c.area_code),
                amount=runs.c.fen,
                debit_code=literal("pooled_fund", String),
                credit_code=literal("personal:", String) + _text(credited.c.person_id),
                cause=literal("retiree person ", String)
                + _text(credited.c.person_id)
                + literal(" in ", String)
                + R.c.month,
                required=case(
                    (and_(credited.c.required, R.c.completed_at.is_not(None)), true()),
                    else_=false(),
                ),
            )
        )
        .select_from(credited)
        .join(R, R.c.id == credited.c.run_id)
        .join(runs, and_(runs.c.area_code == R.c.area_code, runs.c.month == R.c.month))
        .distinct()
    )


def _retiree_amounts(session: Session) -> dict[tuple[str, str], int]:
    """(area, month) -> the retiree fixed credit of each crediting run that pays one."""
    runs = session.execute(select(R.c.area_code, R.c.month).distinct()).all()
    documents: dict[str, list[Any]] = {}
    for area, document in session.execute(
        select(AreaPolicy.area_code, AreaPolicy.document).order_by(
            AreaPolicy.area_code, AreaPolicy.effective_from
        )
    ):
        documents.setdefault(str(area), []).append(json.loads(document))
    schedules = {area: schedule_from_list(docs) for area, docs in documents.items()}
    amounts = {}
    for area, month in runs:
        schedule = schedules.get(str(area))
        if schedule is None:
            continue
        fen = schedule.for_month(Month.parse(str(month))).retiree_monthly_fen
        if fen > 0:
            amounts[(str(area), str(month))] = fen
    return amounts


def _settlements() -> Sequence[Select[Any]]:
    """A sale posts what the receipt says the personal account paid; a refund reverses it."""
    paid_by_family = S.c.payer_person_id != S.c.patient_person_id
    kind = case((paid_by_family, "family_settlement"), else_="settlement")
    personal = literal("personal:", String) + _text(S.c.payer_person_id)
    payable = literal("payable:", String) + I.c.code
    cause = literal("settlement ", String) + I.c.code + literal("/", String) + S.c.ref
    sale = select(
        *_row(
            key=literal("settle:", String) + I.c.code + literal(":", String) + S.c.ref,
            kind=kind,
            book=_medical_book(I.c.area_code),
            amount=S.c.personal_fen,
            debit_code=personal,
            credit_code=payable,
            cause=cause,
            required=true(),
        )
    ).join(I, I.c.id == S.c.institution_id)
    refund = select(
        *_row(
            key=literal("refund:", String) + I.c.code + literal(":", String) + S.c.ref,
            kind=literal("reversal:", String) + kind,
            book=_medical_book(I.c.area_code),
            amount=S.c.personal_fen,
            debit_code=payable,
            credit_code=personal,
            cause=literal("refund of ", String) + cause,
            required=true(),
        )
    ).join(I, I.c.id == S.c.institution_id)
    return (
        sale.where(S.c.personal_fen > 0),
        refund.where(S.c.personal_fen > 0, S.c.refunded_on.is_not(None)),
    )


def _merges() -> Sequence[Select[Any]]:
    """A merge empties the other record's account into the staying one (across areas in two
    legs through each area's inter-area account); it posts nothing if there was nothing."""
    staying, other = P.alias("staying"), P.alias("other")
    link = L.c.id
    other_account = literal("personal:", String) + _text(L.c.other_person_id)
    staying_account = literal("personal:", String) + _text(L.c.person_id)
    cause = literal("record link ", String) + _text(link)

    def leg(prefix: str, kind: str, area: Any, debit: Any, credit: Any) -> Select[Any]:
        return (
            select(
                *_row(
                    key=literal(prefix, String) + _text(link),
                    kind=literal(kind, String),
                    book=_medical_book(area),
                    amount=null(),
                    debit_code=debit,
                    credit_code=credit,
                    cause=cause,
                    required=false(),
                )
            )
            .join(staying, staying.c.id == L.c.person_id)
            .join(other, other.c.id == L.c.other_person_id)
            .where(L.c.merged_on.is_not(None))
        )

    same_area = staying.c.area_code == other.c.area_code
    return (
        leg("merge:", "records_merge", other.c.area_code, other_account, staying_account).where(
            same_area
        ),
        leg(
            "merge-out:",
            "records_transfer_out",
            other.c.area_code,
            other_account,
            literal("inter_area:", String) + staying.c.area_code,
        ).where(~same_area),
        leg(
            "merge-in:",
            "records_transfer_in",
            staying.c.area_code,
            literal("inter_area:", String) + other.c.area_code,
            staying_account,
        ).where(~same_area),
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
    """A receipt adds up: the account paid part of the eligible amount, the person the rest."""
    rows = session.execute(
        select(I.c.code, S.c.ref, S.c.total_fen, S.c.eligible_fen, S.c.personal_fen, S.c.own_fen)
        .join(I, I.c.id == S.c.institution_id)
        .where(
            or_(
                S.c.personal_fen + S.c.own_fen != S.c.total_fen,
                S.c.personal_fen > S.c.eligible_fen,
                S.c.personal_fen < 0,
            )
        )
        .order_by(S.c.id)
    ).all()
    return [
        Problem(
            "receipt_adds_up",
            f"settlement {code}/{ref}: total {total}, eligible {eligible}, "
            f"personal account {personal}, own {own} fen",
        )
        for code, ref, total, eligible, personal, own in rows
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
