"""The pooled fund's part of a sale: its terms for this patient and visit, and the year's usage.

The terms come from reads that need no lock (the patient's scheme that day, the policy of the
visit's month, the institution's level, a resident's year paid); the usage is read under the
patient's `pooled_usage` row lock, taken before the paying account's, by the sale that changes
it (`posting`, or on PostgreSQL `post_settlement`). A refund gives its usage back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import BindParameter, Table, bindparam, exists, func, or_, select, update

from yibao.adapters.db import insert_skipping_duplicates
from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import (
    AreaPolicy,
    CatalogueItem,
    Contribution,
    Enrollment,
    Institution,
    Person,
    PooledUsage,
)
from yibao.domain.errors import InvalidInput
from yibao.domain.months import Month
from yibao.domain.national_codes import NationalCodes, national_codes
from yibao.domain.policy import Policy, policy_from_dict
from yibao.domain.pooled import (
    NOTHING,
    FundTerms,
    PooledPolicy,
    Visit,
    YearToDate,
    default_visit,
    terms_for,
)
from yibao.domain.schemes import Scheme
from yibao.services.uow import UnitOfWork

P = cast(Table, Person.__table__)
I = cast(Table, Institution.__table__)  # noqa: E741 - the institution table
E = cast(Table, Enrollment.__table__)
C = cast(Table, Contribution.__table__)
U = cast(Table, PooledUsage.__table__)
AP = cast(Table, AreaPolicy.__table__)
CI = cast(Table, CatalogueItem.__table__)

_DAY: BindParameter[dt.date] = bindparam("day")
_MONTH: BindParameter[str] = bindparam("month")
_SCHEME = (
    select(E.c.scheme)
    .where(
        E.c.person_id == P.c.id,
        E.c.starts_on <= _DAY,
        or_(E.c.ends_on.is_(None), E.c.ends_on > _DAY),
    )
    .order_by(E.c.starts_on.desc(), E.c.id.desc())
    .limit(1)
    .scalar_subquery()
)
_RESIDENT_YEAR_PAID = exists().where(  # a resident's payment covering the visit's month
    C.c.person_id == P.c.id,
    C.c.scheme == str(Scheme.RESIDENT),
    C.c.month <= _MONTH,
    C.c.through_month >= _MONTH,
    C.c.received_on <= _DAY,
    C.c.insurances.contains("medical"),
)
_POLICY_OF_MONTH = (  # the area's entry with the latest `from` not after the visit's month
    select(AP.c.document)
    .where(AP.c.area_code == I.c.area_code, AP.c.effective_from <= _MONTH)
    .order_by(AP.c.effective_from.desc())
    .limit(1)
    .scalar_subquery()
)
_CATALOGUE_OF_MONTH = (  # the month of the area's catalogue in force, if it has one
    select(func.max(CI.c.from_month))
    .where(CI.c.area_code == I.c.area_code, CI.c.from_month <= _MONTH)
    .scalar_subquery()
)
FACT_COLUMNS = (
    P.c.birth_date, _SCHEME, _RESIDENT_YEAR_PAID, I.c.kind, I.c.level, _POLICY_OF_MONTH,
    _CATALOGUE_OF_MONTH,
)  # fmt: skip
"""What the fund's terms depend on, correlated with `person` and `institution` rows (`P`, `I`):
read with the credential's other reads (`:day`, `:month` bound), they cost no round trip."""

_POLICY_OF_PERSONS_AREA = (  # 异地就医: the insured area's policy, wherever the bill is
    select(AP.c.document)
    .where(AP.c.area_code == P.c.area_code, AP.c.effective_from <= _MONTH)
    .order_by(AP.c.effective_from.desc())
    .limit(1)
    .scalar_subquery()
)
_INSURED_FACTS = HotStatement(
    select(P.c.birth_date, _SCHEME, _RESIDENT_YEAR_PAID, _POLICY_OF_PERSONS_AREA).where(
        P.c.id == bindparam("person_id")
    )
)


_PATIENT_AT = HotStatement(
    select(*FACT_COLUMNS)
    .select_from(P)
    .join(I, I.c.id == bindparam("institution_id"))
    .where(P.c.id == bindparam("person_id"))
)


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """The patient and the institution as FACT_COLUMNS read them, for one day."""

    birth_date: dt.date
    scheme: str | None
    resident_year_paid: bool
    institution_kind: str
    level: int
    policy_document: str | None  # of the visit's month; None before the area's first policy
    catalogue_month: str | None = None  # of the catalogue in force; None: the area has none


def fact_params(on: dt.date) -> dict[str, object]:
    return {"day": on, "month": str(Month.of(on))}


def facts_of(row: Sequence[Any]) -> PatientFacts:
    birth, scheme, paid, kind, level, document, catalogue_month = row
    return PatientFacts(birth, scheme, bool(paid), str(kind), int(level), document, catalogue_month)


def insured_area_facts(
    *, uow: UnitOfWork, person_id: int, institution_kind: str, level: int, on: dt.date
) -> PatientFacts:
    """The patient's facts under their own area's policy, for a bill at an institution of
    another area (its kind and level read in that area's database)."""
    row = _INSURED_FACTS.one_or_none(uow.hot, {"person_id": person_id, **fact_params(on)})
    assert row is not None  # the person was read before
    birth, scheme, paid, document = row
    return PatientFacts(birth, scheme, bool(paid), institution_kind, level, document)


@lru_cache(maxsize=256)
def _policy(document: str) -> Policy:
    return policy_from_dict(json.loads(document))


def _pooled_policy(document: str) -> PooledPolicy:
    return _policy(document).pooled


def pin_max_tries(facts: PatientFacts) -> int | None:
    """The PIN's number of tries under the policy the facts were read with (the institution's
    area, the visit's month); None before the area's first policy."""
    document = facts.policy_document
    return None if document is None else _policy(document).pin_max_tries


@dataclass(frozen=True, slots=True)
class PooledTerms:
    terms: FundTerms
    codes: NationalCodes


def pooled_terms(
    *,
    uow: UnitOfWork,
    patient_id: int,
    institution_id: int,
    visit: Visit | None,
    on: dt.date,
    facts: PatientFacts | None = None,
) -> PooledTerms:
    """What the fund pays of this patient's bill at this institution on `on`, and its codes;
    the facts are read here unless they came with the credential's reads."""
    if facts is None:
        facts = patient_facts(uow=uow, patient_id=patient_id, institution_id=institution_id, on=on)
    return terms_from_facts(facts=facts, visit=visit, on=on)


def patient_facts(
    *, uow: UnitOfWork, patient_id: int, institution_id: int, on: dt.date
) -> PatientFacts:
    row = _PATIENT_AT.one_or_none(
        uow.hot, {"person_id": patient_id, "institution_id": institution_id, **fact_params(on)}
    )
    assert row is not None  # both were read before
    return facts_of(row)


def terms_from_facts(*, facts: PatientFacts, visit: Visit | None, on: dt.date) -> PooledTerms:
    """The policy of the visit's month applied to the patient's facts (FORMAT.md)."""
    birth, scheme_text, resident_paid = facts.birth_date, facts.scheme, facts.resident_year_paid
    kind, level = facts.institution_kind, facts.level
    chosen = default_visit(kind) if visit is None else visit
    if kind == "pharmacy" and chosen is not Visit.PHARMACY:
        raise InvalidInput("visit", str(chosen), "is not possible at a pharmacy")
    scheme = None if scheme_text is None else Scheme(scheme_text)
    terms = NOTHING  # a pharmacy purchase, or no policy yet
    if chosen is not Visit.PHARMACY and facts.policy_document is not None:
        terms = terms_for(
            _pooled_policy(facts.policy_document),
            scheme=scheme,
            visit=chosen,
            level=int(level),
            resident_year_paid=bool(resident_paid),
        )
    if terms.visit is not chosen:  # the fund pays nothing: keep the visit on the record
        terms = FundTerms(chosen, 0, terms.ratio, 0)
    codes = national_codes(scheme=scheme, birth_date=birth, visit=chosen, on=on)
    return PooledTerms(terms, codes)


# -- the year's usage (SQLite; PostgreSQL's post_settlement does the same) ---------------------
_OPEN_USAGE = HotStatement(  # the patient's row for the year, if it is not there yet
    lambda dialect: insert_skipping_duplicates(dialect, U).on_conflict_do_nothing()
)
_LOCKED_USAGE = HotStatement(
    select(U.c.outpatient_eligible_fen, U.c.outpatient_fund_fen, U.c.inpatient_fund_fen)
    .where(U.c.person_id == bindparam("person_id"), U.c.year == bindparam("year"))
    .with_for_update()
)
_ADD_USAGE = HotStatement(
    update(U)
    .where(U.c.person_id == bindparam("usage_person"), U.c.year == bindparam("usage_year"))
    .values(
        outpatient_eligible_fen=U.c.outpatient_eligible_fen + bindparam("outpatient_eligible"),
        outpatient_fund_fen=U.c.outpatient_fund_fen + bindparam("outpatient_fund"),
        inpatient_fund_fen=U.c.inpatient_fund_fen + bindparam("inpatient_fund"),
    )
)


def locked_usage(*, uow: UnitOfWork, person_id: int, visit: Visit, on: dt.date) -> YearToDate:
    """The patient's usage in the visit's year, its row locked until the transaction ends."""
    key = {"person_id": person_id, "year": on.year}
    _OPEN_USAGE.write_many(
        uow.hot,
        [{**key, "outpatient_eligible_fen": 0, "outpatient_fund_fen": 0, "inpatient_fund_fen": 0}],
    )
    row = _LOCKED_USAGE.one_or_none(uow.hot, key)
    assert row is not None
    eligible, outpatient_fund, inpatient_fund = (int(v) for v in row)
    fund = outpatient_fund if visit is Visit.OUTPATIENT else inpatient_fund
    return YearToDate(outpatient_eligible_fen=eligible, fund_paid_fen=fund)


def add_usage(
    *, uow: UnitOfWork, person_id: int, visit: Visit, on: dt.date, eligible: int, fund: int
) -> None:
    """Count a sale (or, with negative amounts, take back a refunded one) in the year's usage."""
    if visit is Visit.PHARMACY:
        return
    outpatient = visit is Visit.OUTPATIENT
    _ADD_USAGE.write_many(
        uow.hot,
        [
            {
                "usage_person": person_id,
                "usage_year": on.year,
                "outpatient_eligible": eligible if outpatient else 0,
                "outpatient_fund": fund if outpatient else 0,
                "inpatient_fund": 0 if outpatient else fund,
            }
        ],
    )


_USAGE = HotStatement(
    select(U.c.outpatient_eligible_fen, U.c.outpatient_fund_fen, U.c.inpatient_fund_fen).where(
        U.c.person_id == bindparam("person_id"), U.c.year == bindparam("year")
    )
)


def usage_of(*, uow: UnitOfWork, person_id: int, visit: Visit, on: dt.date) -> YearToDate:
    """The patient's usage in the visit's year, read without a lock: for a pre-settlement."""
    row = _USAGE.one_or_none(uow.hot, {"person_id": person_id, "year": on.year})
    if row is None:
        return YearToDate()
    eligible, outpatient_fund, inpatient_fund = (int(v) for v in row)
    fund = outpatient_fund if visit is Visit.OUTPATIENT else inpatient_fund
    return YearToDate(outpatient_eligible_fen=eligible, fund_paid_fen=fund)
