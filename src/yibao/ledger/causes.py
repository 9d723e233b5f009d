"""What each record that moves money expects the ledger to hold: one row per posting.

Each row gives the posting's key, kind, book, amount and accounts as the writer derives them from
its record, the record it stands for (`cause`, naming the row), and whether the posting must
exist by now (`required`): a payment's medical amounts once it is recorded; a credit once a
crediting run of its area that read the payment has completed; a sale and its refund when they
are written. A merge posts only if the record it empties held money, so it is never required.
None stands for "not compared". `reconcile` joins these rows with the postings.
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
    Institution,
    InterAreaBill,
    Person,
    RecordLink,
    Settlement,
)
from yibao.domain.months import Month
from yibao.domain.policy import PolicySchedule, schedule_from_list
from yibao.domain.schemes import Scheme

C = Contribution.__table__
E = Enrollment.__table__
R = CreditingRun.__table__
S = Settlement.__table__
I = Institution.__table__  # noqa: E741 - the institution table, as in the SQL it mirrors
P = Person.__table__
L = RecordLink.__table__
B = InterAreaBill.__table__

KINDS = (
    "contribution",
    "crediting",
    "retiree_crediting",
    "settlement",
    "family_settlement",
    "reversal:settlement",
    "reversal:family_settlement",
    "fund_settlement",
    "reversal:fund_settlement",
    "records_merge",
    "records_transfer_out",
    "records_transfer_in",
    "inter_area_settlement",
    "reversal:inter_area_settlement",
    "inter_area_clearing",
)
"""The kinds of posting a cause below expects."""

COLUMNS = ("key", "kind", "book", "amount", "debit_code", "credit_code", "cause", "required")


def _text(value: Any) -> ColumnElement[str]:
    return cast(value, String)


RETIREE_KEYS_BY_MONTH = "by_month"  # crediting_run.retiree_keys of every run made since 0032


def retiree_credit_key(person_id: Any, month: Any, keys: Any) -> ColumnElement[str]:
    """A retiree's fixed credit for a month, as its run keys it (`crediting_run.retiree_keys`):
    `retiree:<month>:p<person>` since migration 0032, so that a month's keys sit side by side
    in the key index; `retiree:p<person>:<month>` for the runs made before."""
    return case(
        (
            keys == RETIREE_KEYS_BY_MONTH,
            literal("retiree:", String) + month + literal(":p", String) + _text(person_id),
        ),
        else_=literal("retiree:p", String) + _text(person_id) + literal(":", String) + month,
    )


def _medical_book(area_code: Any) -> ColumnElement[str]:
    return literal("medical:", String) + _text(area_code)


def expected_postings(session: Session) -> Any:
    """Every posting the records expect, as a subquery with COLUMNS."""
    parts: list[Select[Any]] = [
        _contributions(),
        _credits(),
        *_settlements(),
        *_merges(),
        *_inter_area_bills(),
        *_inter_area_clearings(),
    ]
    retirees = _retiree_credits(session)
    if retirees is not None:
        parts.append(retirees)
    return union_all(*parts).subquery("expected")


def _row(**columns: Any) -> list[Any]:
    return [columns[name].label(name) for name in COLUMNS]


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
                key=retiree_credit_key(credited.c.person_id, R.c.month, R.c.retiree_keys),
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
    schedules = policy_schedules(session)
    amounts = {}
    for area, month in runs:
        schedule = schedules.get(str(area))
        if schedule is None:
            continue
        fen = schedule.for_month(Month.parse(str(month))).retiree_monthly_fen
        if fen > 0:
            amounts[(str(area), str(month))] = fen
    return amounts


def policy_schedules(session: Session) -> dict[str, PolicySchedule]:
    """Each area's policies as loaded, oldest first."""
    documents: dict[str, list[Any]] = {}
    for area, document in session.execute(
        select(AreaPolicy.area_code, AreaPolicy.document).order_by(
            AreaPolicy.area_code, AreaPolicy.effective_from
        )
    ):
        documents.setdefault(str(area), []).append(json.loads(document))
    return {area: schedule_from_list(docs) for area, docs in documents.items()}


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
        *_fund_shares(),
    )


def _fund_shares() -> Sequence[Select[Any]]:
    """The pooled fund pays the institution its share of a sale; a refund reverses it."""
    pool = literal("pooled_fund", String)
    payable = literal("payable:", String) + I.c.code
    cause = literal("settlement ", String) + I.c.code + literal("/", String) + S.c.ref

    def leg(prefix: str, kind: str, debit: Any, credit: Any, why: Any) -> Select[Any]:
        return select(
            *_row(
                key=literal(prefix, String) + I.c.code + literal(":", String) + S.c.ref,
                kind=literal(kind, String),
                book=_medical_book(I.c.area_code),
                amount=S.c.fund_fen,
                debit_code=debit,
                credit_code=credit,
                cause=why,
                required=true(),
            )
        ).join(I, I.c.id == S.c.institution_id)

    return (
        leg("fund:", "fund_settlement", pool, payable, cause).where(S.c.fund_fen > 0),
        leg(
            "fund-refund:",
            "reversal:fund_settlement",
            payable,
            pool,
            literal("refund of ", String) + cause,
        ).where(S.c.fund_fen > 0, S.c.refunded_on.is_not(None)),
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


def _inter_area_bills() -> Sequence[Select[Any]]:
    """A bill settled across areas: the insured side's personal account and pooled fund pay the
    treating area's inter-area account; the treating side's inter-area account pays the
    institution the same two amounts. A refund reverses each."""
    cause = literal("inter-area bill ", String) + _text(B.c.id)
    bill = _text(B.c.other_area) + literal(":", String) + B.c.institution_code
    bill = bill + literal(":", String) + B.c.ref
    inter_area = literal("inter_area:", String) + B.c.other_area
    personal = literal("personal:", String) + _text(B.c.person_id)
    pool = literal("pooled_fund", String)
    payable = literal("payable:", String) + B.c.institution_code

    def leg(side: str, prefix: str, amount: Any, debit: Any, credit: Any) -> list[Select[Any]]:
        def row(key: str, kind: str, debit: Any, credit: Any, why: Any) -> Select[Any]:
            return select(
                *_row(
                    key=literal(key, String) + bill,
                    kind=literal(kind, String),
                    book=_medical_book(B.c.area_code),
                    amount=amount,
                    debit_code=debit,
                    credit_code=credit,
                    cause=why,
                    required=true(),
                )
            ).where(B.c.side == side, amount > 0)

        refund_key = prefix.replace("-out:", "-refund-out:").replace("-in:", "-refund-in:")
        return [
            row(prefix, "inter_area_settlement", debit, credit, cause),
            row(
                refund_key,
                "reversal:inter_area_settlement",
                credit,
                debit,
                literal("refund of ", String) + cause,
            ).where(B.c.refunded_on.is_not(None)),
        ]

    return (
        *leg("insured", "inter-area-out:", B.c.personal_fen, personal, inter_area),
        *leg("treating", "inter-area-in:", B.c.personal_fen, inter_area, payable),
        *leg("insured", "inter-area-fund-out:", B.c.fund_fen, pool, inter_area),
        *leg("treating", "inter-area-fund-in:", B.c.fund_fen, inter_area, payable),
    )


def _inter_area_clearings() -> Sequence[Select[Any]]:
    """A period's clearing between two areas: in each book, the bills it marked with the
    period, summed; the insured side pays its payable out, the treating side is paid its
    receivable."""
    owed = case((B.c.refunded_on.is_(None), B.c.personal_fen + B.c.fund_fen), else_=0)
    amount = func.sum(owed)
    inter_area = literal("inter_area:", String) + B.c.other_area
    clearing = literal("settlement_clearing", String)
    prefix = literal("inter-area-clearing:", String) + B.c.cleared_in + literal(":", String)
    sep = literal(":", String)

    def side(name: str, key: Any, debit: Any, credit: Any) -> Select[Any]:
        return (
            select(
                *_row(
                    key=key,
                    kind=literal("inter_area_clearing", String),
                    book=_medical_book(B.c.area_code),
                    amount=amount,
                    debit_code=debit,
                    credit_code=credit,
                    cause=literal("inter-area clearing ", String) + B.c.cleared_in,
                    required=true(),
                )
            )
            .where(B.c.side == name, B.c.cleared_in.is_not(None))
            .group_by(B.c.area_code, B.c.other_area, B.c.cleared_in)
            .having(amount > 0)
        )

    return (
        side("insured", prefix + B.c.area_code + sep + B.c.other_area, inter_area, clearing),
        side("treating", prefix + B.c.other_area + sep + B.c.area_code, clearing, inter_area),
    )
