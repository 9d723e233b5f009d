"""Gather a person's records from storage and explain their balance (domain.explain)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from typing import cast as typed

from sqlalchemy import (
    BindParameter,
    FromClause,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)

from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import (
    Card,
    Contribution,
    Employer,
    Employment,
    Enrollment,
    LedgerTransfer,
)
from yibao.domain.channels import CHANNELS
from yibao.domain.errors import InvalidInput
from yibao.domain.explain import (
    CardRecord,
    Explanation,
    Finding,
    JobRecord,
    PaymentRecord,
    PersonRecords,
    explain,
)
from yibao.domain.idnumber import mask
from yibao.domain.money import fen_to_yuan
from yibao.domain.months import Month
from yibao.domain.schemes import Scheme
from yibao.ledger import accounts
from yibao.ledger.keys import keyed_transfers
from yibao.ledger.kinds import CREDITS, TransferKind, reversal
from yibao.services import audit
from yibao.services.audit import Actor, AuditEvent
from yibao.services.inquiry.pooled_fund import fund_paid_this_year
from yibao.services.registry import (
    PersonOnRecord,
    person_on_record,
    policy_schedule_hot,
    scheme_on_hot,
)
from yibao.services.registry.record_links import split_records
from yibao.services.uow import UnitOfWork

# money that arrives in a personal account: monthly credits, and balances of merged records
CREDITING = (*CREDITS, TransferKind.RECORDS_MERGE, TransferKind.RECORDS_TRANSFER_IN)


def explain_balance(
    *, uow: UnitOfWork, id_number: str, as_of: dt.date, channel: str, actor: Actor
) -> tuple[PersonRecords, Explanation]:
    """The person's balances and findings at the end of `as_of`; the inquiry is audited.

    A refused inquiry (unknown person, bad channel) writes nothing: its caller records it.
    """
    if channel not in CHANNELS:
        raise InvalidInput("channel", channel, f"is not one of {', '.join(CHANNELS)}")
    with uow.reading() as reads:  # the replica's, when one serves; the audit entry stays here
        person = person_on_record(uow=reads, id_number=id_number)
        records = gather_records(uow=reads, person=person, as_of=as_of, channel=channel)
    explanation = explain(records)
    audit.record(
        uow=uow,
        event=AuditEvent(actor, "inquiry", channel, person.id_number, f"balance:{as_of}"),
    )
    return records, explanation


def gather_records(
    *, uow: UnitOfWork, person: PersonOnRecord, as_of: dt.date, channel: str
) -> PersonRecords:
    month = Month.of(as_of)
    schedule = policy_schedule_hot(uow=uow, area_code=person.area_code)
    policy = schedule.for_month(month) if schedule.policies[0].effective_from <= month else None
    earlier = schedule.earlier_than(month) if policy else ()
    current = scheme_on_hot(uow=uow, person_id=person.id, day=as_of)
    tier_zero = bool(
        current
        and current.scheme is Scheme.FLEXIBLE
        and policy
        and policy.tier(current.tier or "").account_rate == 0
    )
    account_id = uow.ledger.find_account(accounts.personal_account(person.area_code, person.id))
    totals = _net_outflow_by_kind(uow, account_id, as_of)
    family_spent = totals.get(TransferKind.FAMILY_SETTLEMENT, 0) + totals.get(
        reversal(TransferKind.FAMILY_SETTLEMENT), 0
    )
    fund_fen, fund_bills = fund_paid_this_year(uow=uow, person_id=person.id, as_of=as_of)
    splits = split_records(uow=uow, person=person, as_of=as_of)
    return PersonRecords(
        id_number=person.id_number,
        as_of=as_of,
        channel=channel,
        medical_fen=-sum(totals.values()),
        financial_fen=uow.ledger.balance_of(accounts.financial_account(person.id), as_of),
        scheme=current.scheme if current else None,
        tier=current.tier if current else None,
        tier_account_rate_zero=tier_zero,
        policy_credits_employer_share=bool(policy and policy.credits_employer_share),
        earlier_policy_credited_employer_share=any(p.credits_employer_share for p in earlier),
        retiree_monthly_fen=policy.retiree_monthly_fen if policy else 0,
        ever_enrolled=_ever_enrolled(uow, person.id, as_of),
        jobs=_jobs(uow, person.id, as_of),
        payments=_payments(uow, person.id, as_of),
        card=_card(uow, person.id, as_of),
        spent_fen=family_spent
        + totals.get(TransferKind.SETTLEMENT, 0)
        + totals.get(reversal(TransferKind.SETTLEMENT), 0),
        family_spent_fen=family_spent,
        credited_fen=-sum(totals.get(kind, 0) for kind in CREDITING),
        fund_paid_fen=fund_fen,
        fund_bills=fund_bills,
        own_credit_rate=_percent(policy.employee_rate * policy.employee_share) if policy else None,
        policy_from=str(policy.effective_from) if policy else None,
        split_records=tuple(
            f"{split.other_masked_id} (area {split.other_area}): balance "
            f"{fen_to_yuan(split.balance_fen)} yuan, {split.contributions} contributions"
            for split in splits
        ),
        split_records_zh=tuple(
            f"{split.other_masked_id}（统筹区 {split.other_area}）：余额 "
            f"{fen_to_yuan(split.balance_fen)} 元，缴费 {split.contributions} 笔"
            for split in splits
        ),
    )


def _table(model: Any) -> Table:
    return typed(Table, model.__table__)


def _percent(rate: Decimal) -> str:
    """A rate as the policy reads it: 0.02 -> "2%", 0.015 -> "1.5%"."""
    return f"{(rate * 100).normalize():f}%"


# The explainer's reads, built and compiled once (`HotStatement`): an inquiry runs a dozen.
E, J, EMP = _table(Enrollment), _table(Employment), _table(Employer)
C, T, CARD = _table(Contribution), _table(LedgerTransfer), _table(Card)
_PERSON_ID: BindParameter[int] = bindparam("person_id")
_AS_OF: BindParameter[dt.date] = bindparam("as_of")
_EVER_ENROLLED = HotStatement(
    select(func.count()).where(E.c.person_id == _PERSON_ID, E.c.starts_on <= _AS_OF)
)
_JOBS = HotStatement(
    select(EMP.c.code, EMP.c.name, J.c.hired_on, J.c.registered_on, J.c.left_on)
    .join(EMP, EMP.c.id == J.c.employer_id)
    .where(J.c.person_id == _PERSON_ID, J.c.hired_on <= _AS_OF)
    .order_by(J.c.hired_on)
)


def _payments_joined_to(keyed: FromClause) -> HotStatement:
    """A person's payments, each with the day it was credited. A contribution is credited by
    its crediting transfer's key (`credit:c<id>`), not by this person's account: after a merge,
    one credited on the other record's account stays credited."""
    credited = keyed.c.key == literal("credit:c") + cast(C.c.id, String)
    return HotStatement(
        select(
            C.c.month, C.c.through_month, C.c.received_on, C.c.insurances, C.c.credit_fen,
            keyed.c.value_date,
        )
        .outerjoin(
            keyed,
            and_(
                credited,
                keyed.c.kind == str(TransferKind.CREDITING),
                keyed.c.value_date <= _AS_OF,
            ),
        )
        .where(C.c.person_id == _PERSON_ID, C.c.received_on <= _AS_OF)
        .order_by(C.c.month, C.c.received_on)
    )  # fmt: skip


# PostgreSQL finds a key through its claim (`ledger.keys`: the partitioned ledger has no index
# on it); SQLite's one table keeps its key unique.
_PAYMENTS = {
    "postgresql": _payments_joined_to(keyed_transfers("postgresql")),
    "plain": _payments_joined_to(keyed_transfers("sqlite")),
}
_CARD = HotStatement(
    select(CARD.c.card_no, CARD.c.issued_on, CARD.c.lost_on, CARD.c.medical_activated_on)
    .where(
        CARD.c.person_id == _PERSON_ID,
        CARD.c.issued_on <= _AS_OF,
        or_(CARD.c.replaced_on.is_(None), CARD.c.replaced_on > _AS_OF),
    )
    .order_by(CARD.c.id.desc())
    .limit(1)
)
_ACCOUNT_ID: BindParameter[int] = bindparam("account_id")
_OUTGOING = case((T.c.debit_account_id == _ACCOUNT_ID, T.c.amount_fen), else_=-T.c.amount_fen)
_NET_OUTFLOW = HotStatement(
    select(
        T.c.kind,
        func.sum(_OUTGOING),
    )
    .where(
        or_(T.c.debit_account_id == _ACCOUNT_ID, T.c.credit_account_id == _ACCOUNT_ID),
        T.c.value_date <= _AS_OF,
    )
    .group_by(T.c.kind)
)


def _ever_enrolled(uow: UnitOfWork, person_id: int, as_of: dt.date) -> bool:
    return bool(_EVER_ENROLLED.scalar_or_none(uow.hot, {"person_id": person_id, "as_of": as_of}))


def _jobs(uow: UnitOfWork, person_id: int, as_of: dt.date) -> tuple[JobRecord, ...]:
    rows = _JOBS.rows(uow.hot, {"person_id": person_id, "as_of": as_of})
    return tuple(
        JobRecord(
            code,
            name,
            hired_on,
            registered_on if registered_on and registered_on <= as_of else None,
            left_on if left_on and left_on <= as_of else None,
        )
        for code, name, hired_on, registered_on, left_on in rows
    )


def _payments(uow: UnitOfWork, person_id: int, as_of: dt.date) -> tuple[PaymentRecord, ...]:
    statement = _PAYMENTS["postgresql" if uow.dialect == "postgresql" else "plain"]
    rows = statement.rows(uow.hot, {"person_id": person_id, "as_of": as_of})
    months: dict[str, Month] = {}
    return tuple(
        PaymentRecord(
            months.setdefault(month, Month.parse(month)),
            months.setdefault(through, Month.parse(through)),
            received_on,
            frozenset(insurances.split(",")),
            credit_fen,
            credited_on,
        )
        for month, through, received_on, insurances, credit_fen, credited_on in rows
    )


def _card(uow: UnitOfWork, person_id: int, as_of: dt.date) -> CardRecord | None:
    card = _CARD.one_or_none(uow.hot, {"person_id": person_id, "as_of": as_of})
    if card is None:
        return None
    card_no, issued_on, lost_on, medical_activated_on = card
    if lost_on is not None and lost_on <= as_of:
        status = "lost"
    elif medical_activated_on is not None and medical_activated_on <= as_of:
        status = "active"
    else:
        status = "issued"
    return CardRecord(card_no, status, issued_on)


def _net_outflow_by_kind(uow: UnitOfWork, account_id: int | None, as_of: dt.date) -> dict[str, int]:
    """Per transfer kind, what left the personal account minus what came in, up to `as_of`."""
    if account_id is None:
        return {}
    rows = _NET_OUTFLOW.rows(uow.hot, {"account_id": account_id, "as_of": as_of})
    return {str(kind): int(amount) for kind, amount in rows}


def inquiry_json(records: PersonRecords, explanation: Explanation) -> dict[str, Any]:
    """The answer of `yibao inquire --json` and of the API's inquiry, field for field."""
    return {
        "person": mask(records.id_number),
        "as_of": records.as_of.isoformat(),
        "channel": records.channel,
        "medical_balance": fen_to_yuan(records.medical_fen),
        "financial_balance": fen_to_yuan(records.financial_fen),
        "shown_balance": fen_to_yuan(explanation.shown_fen),
        "findings": [finding_json(f) for f in explanation.findings],
    }


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "summary": finding.summary,
        "summary_zh": finding.summary_zh,
        "evidence": list(finding.evidence),
        "evidence_zh": list(finding.evidence_zh),
        "legal_basis": finding.legal_basis,
        "legal_basis_zh": finding.legal_basis_zh,
        "next_step": finding.next_step,
    }
