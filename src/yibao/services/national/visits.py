"""Outpatient registrations (2201) and admissions (2401): the visit's `mdtrt_id`, its fee
lines uploaded and cut by the catalogue (2204, 2301), deleted while unsettled (2205), the
discharge (2402), and the link to the settlement that paid them.

A visit of a person insured in another area (`insured_area`, where each area has its own
database: `services.national.across_areas`) is recorded here, in the institution's database,
its `person_id` and `settlement_id` numbers of the insured area's database. Every message about
a visit names the visit's insured area (`insured_area`, None: the institution's own): a visit
is not reached through another area's numbers."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, or_, select, update

from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import NationalFeeLine, NationalVisit
from yibao.domain.errors import Conflict, InvalidInput
from yibao.domain.pooled import Visit
from yibao.services.national import bills, people
from yibao.services.national.gateway import Caller
from yibao.services.uow import UnitOfWork

OPEN, DISCHARGED, SETTLED, CANCELLED = "open", "discharged", "settled", "cancelled"
ALL_BATCHES = "0000"  # chrg_bchno of 2205: every unsettled line


@dataclass(frozen=True, slots=True)
class UploadedLine:
    line: bills.FeeLine
    chrg_bchno: str


def register(
    *,
    uow: UnitOfWork,
    caller: Caller,
    psn_no: int,
    kind: Visit,
    med_type: str,
    begins_at: dt.datetime,
    details: Mapping[str, Any],
) -> str:
    """A new visit of an insured person of this area; its mdtrt_id."""
    person = people.insured(uow=uow, person_id=psn_no, on=begins_at.date())
    if person.area_code != caller.area_code:
        raise InvalidInput("psn_no", str(psn_no), "is insured in another planning area")
    return record(
        uow=uow, caller=caller, person=person, kind=kind, med_type=med_type,
        begins_at=begins_at, details=details,
    )  # fmt: skip


def record(
    *,
    uow: UnitOfWork,
    caller: Caller,
    person: people.Insured,
    kind: Visit,
    med_type: str,
    begins_at: dt.datetime,
    details: Mapping[str, Any],
    insured_area: str | None = None,
) -> str:
    """A new visit of `person`, as their insured area's database knows them (`insured_area`,
    None: this one); its mdtrt_id."""
    if caller.kind == "pharmacy":
        raise InvalidInput("infno", "2201", "is for hospitals and clinics, not a pharmacy")
    mdtrt_id = begins_at.strftime("%Y%m%d%H%M%S") + secrets.token_hex(8)
    uow.session.add(
        NationalVisit(
            mdtrt_id=mdtrt_id,
            institution_id=caller.institution_id,
            insured_area=insured_area,
            person_id=person.person_id,
            kind=str(kind),
            status=OPEN,
            insutype=person.codes.insutype or "",
            med_type=med_type[:6],
            begins_at=begins_at,
            details=json.dumps(dict(details), ensure_ascii=False, default=str),
        )
    )
    uow.session.flush()
    return mdtrt_id


def visit_of(
    *,
    uow: UnitOfWork,
    caller: Caller,
    mdtrt_id: str,
    psn_no: int,
    lock: bool = True,
    insured_area: str | None = None,
) -> NationalVisit:
    """The visit `mdtrt_id` of the institution, of patient `psn_no` of `insured_area`'s
    database (None: this one's)."""
    query = select(NationalVisit).where(
        NationalVisit.mdtrt_id == mdtrt_id, NationalVisit.institution_id == caller.institution_id
    )
    found = uow.session.scalars(query.with_for_update() if lock else query).one_or_none()
    if found is None:
        raise InvalidInput("mdtrt_id", mdtrt_id, f"is no visit at {caller.code}")
    if found.insured_area != insured_area:
        raise InvalidInput(
            "insuplc_admdvs",
            insured_area or caller.area_code,
            f"is not the insured area of visit {mdtrt_id}: send its messages with "
            f"insuplc_admdvs {found.insured_area or caller.area_code}",
        )
    if found.person_id != psn_no:
        raise InvalidInput("psn_no", str(psn_no), f"is not the patient of visit {mdtrt_id}")
    return found


def _require_status(visit: NationalVisit, *allowed: str) -> None:
    if visit.status not in allowed:
        raise Conflict(
            f"visit {visit.mdtrt_id} is {visit.status}; this needs it {'/'.join(allowed)}"
        )


def cancel_registration(
    *, uow: UnitOfWork, caller: Caller, mdtrt_id: str, psn_no: int, insured_area: str | None = None
) -> None:
    visit = visit_of(
        uow=uow, caller=caller, mdtrt_id=mdtrt_id, psn_no=psn_no, insured_area=insured_area
    )
    _require_status(visit, OPEN, DISCHARGED)
    if visit.settlement_id is not None or _settled_lines(uow, visit.id):
        raise Conflict(f"visit {mdtrt_id} has settled fees; cancel the settlement first")
    uow.session.execute(delete(NationalFeeLine).where(NationalFeeLine.visit_id == visit.id))
    visit.status = CANCELLED


def update_information(
    *,
    uow: UnitOfWork,
    caller: Caller,
    mdtrt_id: str,
    psn_no: int,
    med_type: str | None,
    details: Mapping[str, Any],
    insured_area: str | None = None,
) -> None:
    visit = visit_of(
        uow=uow, caller=caller, mdtrt_id=mdtrt_id, psn_no=psn_no, insured_area=insured_area
    )
    _require_status(visit, OPEN)
    if med_type:
        visit.med_type = med_type[:6]
    merged = {**json.loads(visit.details), **details}
    visit.details = json.dumps(merged, ensure_ascii=False, default=str)


def upload(
    *,
    uow: UnitOfWork,
    caller: Caller,
    mdtrt_id: str,
    psn_no: int,
    lines: Sequence[UploadedLine],
    on: dt.date,
    insured_area: str | None = None,
) -> tuple[bills.CutLine, ...]:
    """Add fee lines to an open visit, each cut by the institution's area's catalogue (就医地
    目录, whatever the patient's insured area); a feedetl_sn given before is refused (delete it
    first)."""
    visit = visit_of(
        uow=uow, caller=caller, mdtrt_id=mdtrt_id, psn_no=psn_no, insured_area=insured_area
    )
    _require_status(visit, OPEN)
    numbers = [u.line.feedetl_sn for u in lines]
    if len(set(numbers)) != len(numbers):
        raise InvalidInput("feedetl_sn", numbers, "repeats a number")
    taken = uow.session.scalars(
        select(NationalFeeLine.feedetl_sn).where(
            NationalFeeLine.visit_id == visit.id, NationalFeeLine.feedetl_sn.in_(numbers)
        )
    ).first()
    if taken is not None:
        raise InvalidInput("feedetl_sn", taken, f"was uploaded before for visit {mdtrt_id}")
    cut = bills.cut_lines(uow=uow, area_code=caller.area_code, on=on, lines=[u.line for u in lines])
    for uploaded, c in zip(lines, cut, strict=True):
        uow.session.add(
            NationalFeeLine(
                visit_id=visit.id,
                feedetl_sn=uploaded.line.feedetl_sn,
                chrg_bchno=uploaded.chrg_bchno[:30],
                med_list_codg=uploaded.line.code,
                quantity=str(uploaded.line.quantity),
                amount_fen=uploaded.line.amount_fen,
                item_class=str(c.verdict.item_class),
                selfpay_prop=str(c.verdict.selfpay_prop),
                preselfpay_fen=c.verdict.preselfpay_fen,
                fulamt_ownpay_fen=c.verdict.fulamt_ownpay_fen,
            )
        )
    uow.session.flush()
    return cut


def delete_lines(
    *,
    uow: UnitOfWork,
    caller: Caller,
    mdtrt_id: str,
    psn_no: int,
    chrg_bchno: str,
    insured_area: str | None = None,
) -> int:
    visit = visit_of(
        uow=uow, caller=caller, mdtrt_id=mdtrt_id, psn_no=psn_no, insured_area=insured_area
    )
    _require_status(visit, OPEN)
    query = delete(NationalFeeLine).where(
        NationalFeeLine.visit_id == visit.id, NationalFeeLine.settlement_id.is_(None)
    )
    if chrg_bchno == ALL_BATCHES:
        return int(uow.session.execute(query).rowcount)  # type: ignore[attr-defined]
    query = query.where(NationalFeeLine.chrg_bchno == chrg_bchno)
    deleted = int(uow.session.execute(query).rowcount)  # type: ignore[attr-defined]
    if not deleted:  # a mistyped batch: the cashier learns it, rather than "done"
        raise InvalidInput("chrg_bchno", chrg_bchno, "names no unsettled fee line of this visit")
    return deleted


def discharge(
    *,
    uow: UnitOfWork,
    caller: Caller,
    mdtrt_id: str,
    psn_no: int,
    ends_at: dt.datetime,
    insured_area: str | None = None,
) -> None:
    visit = visit_of(
        uow=uow, caller=caller, mdtrt_id=mdtrt_id, psn_no=psn_no, insured_area=insured_area
    )
    if visit.kind != str(Visit.INPATIENT):
        raise InvalidInput("mdtrt_id", mdtrt_id, "is not an admission")
    _require_status(visit, OPEN)
    if ends_at < visit.begins_at:
        raise InvalidInput("endtime", str(ends_at), "is before the admission")
    visit.status = DISCHARGED
    visit.ends_at = ends_at


@dataclass(frozen=True, slots=True)
class VisitBill:
    visit_id: int
    mdtrt_id: str
    kind: Visit
    chrg_bchno: str  # "": every unsettled line
    line_ids: tuple[int, ...]
    lines: tuple[bills.FeeLine, ...]


def unsettled(
    *,
    uow: UnitOfWork,
    caller: Caller,
    mdtrt_id: str,
    psn_no: int,
    chrg_bchno: str | None,
    insured_area: str | None = None,
) -> VisitBill:
    """The visit's fee lines not settled yet (of one batch, if given): what 2206/2207 and
    2303/2304 settle. An admission is settled once discharged."""
    visit = visit_of(uow=uow, caller=caller, mdtrt_id=mdtrt_id, psn_no=psn_no, lock=False,
                     insured_area=insured_area)  # fmt: skip
    kind = Visit(visit.kind)
    _require_status(visit, *((OPEN,) if kind is Visit.OUTPATIENT else (DISCHARGED,)))
    query = select(NationalFeeLine).where(
        NationalFeeLine.visit_id == visit.id, NationalFeeLine.settlement_id.is_(None)
    )
    if chrg_bchno:
        query = query.where(NationalFeeLine.chrg_bchno == chrg_bchno)
    rows = uow.session.scalars(query.order_by(NationalFeeLine.id)).all()
    if not rows:
        raise InvalidInput("mdtrt_id", mdtrt_id, "has no unsettled fee lines; upload them first")
    return VisitBill(
        visit.id,
        mdtrt_id,
        kind,
        chrg_bchno or "",
        tuple(r.id for r in rows),
        tuple(
            bills.FeeLine(
                r.feedetl_sn,
                r.med_list_codg,
                Decimal(r.quantity),
                (Decimal(r.amount_fen) / 100 / Decimal(r.quantity)).quantize(Decimal("0.0001")),
                r.amount_fen,
            )
            for r in rows
        ),
    )


V = cast(Table, NationalVisit.__table__)
L = cast(Table, NationalFeeLine.__table__)
_LOCK_VISIT = HotStatement(
    select(V.c.status).where(V.c.id == bindparam("visit_id")).with_for_update()
)
_UNSETTLED_IDS = HotStatement(
    select(L.c.id)
    .where(
        L.c.visit_id == bindparam("visit_id"),
        L.c.settlement_id.is_(None),
        or_(bindparam("batch") == "", L.c.chrg_bchno == bindparam("batch")),
    )
    .order_by(L.c.id)
)
_LINK_LINE = HotStatement(
    update(L)
    .where(L.c.id == bindparam("line_id"), L.c.settlement_id.is_(None))
    .values(settlement_id=bindparam("paid_by"))
)
_LINK_VISIT = HotStatement(
    update(V)
    .where(V.c.id == bindparam("visit_id"))
    .values(settlement_id=bindparam("paid_by"), status=bindparam("new_status"), settling_msgid=None)
)


def lock_unchanged(*, uow: UnitOfWork, bill: VisitBill) -> None:
    """In the settlement's transaction, before it posts: the visit's row locked, and its
    lines still the bill's. Two messages settling one batch at once settle it once: the
    second waits for the first's lock, then finds the lines settled and is refused."""
    status = _LOCK_VISIT.scalar_or_none(uow.hot, {"visit_id": bill.visit_id})
    needed = OPEN if bill.kind is Visit.OUTPATIENT else DISCHARGED
    if status != needed:
        raise Conflict(f"visit {bill.mdtrt_id} is {status}; this needs it {needed}")
    found = _UNSETTLED_IDS.rows(uow.hot, {"visit_id": bill.visit_id, "batch": bill.chrg_bchno})
    if tuple(int(row[0]) for row in found) != bill.line_ids:
        raise Conflict(
            f"the unsettled fee lines of visit {bill.mdtrt_id} changed meanwhile (settled or "
            "uploaded by another message); pre-settle and settle again"
        )


def claim(*, uow: UnitOfWork, bill: VisitBill, msgid: str) -> None:
    """Before a visit of another insured area is settled: the visit claimed by `msgid` in its
    own transaction. Its two books are written in two databases, one after the other, so the
    visit's lock (`lock_unchanged`) can only be taken after both, too late to stop a second
    msgid settling the same lines at the same instant; the claim does. The same msgid may go
    on (a retry completes its settlement); another is refused until the claim is released by
    the link (`link`), by a settlement that moved nothing, or by the msgid's 2601."""
    taken = uow.session.execute(
        update(NationalVisit)
        .where(
            NationalVisit.id == bill.visit_id,
            or_(NationalVisit.settling_msgid.is_(None), NationalVisit.settling_msgid == msgid),
        )
        .values(settling_msgid=msgid)
        .returning(NationalVisit.id)
    ).first()
    if taken is None:
        holder = uow.session.scalar(
            select(NationalVisit.settling_msgid).where(NationalVisit.id == bill.visit_id)
        )
        raise Conflict(
            f"visit {bill.mdtrt_id} is being settled by msgid {holder!r}: send that message "
            "again to complete it, or reverse it (2601), then settle"
        )
    lock_unchanged(uow=uow, bill=bill)  # its lines not settled by a msgid whose claim has ended


def release(*, uow: UnitOfWork, msgid: str) -> None:
    """The claim of `msgid` given up: its settlement moved nothing, or was reversed."""
    uow.session.execute(
        update(NationalVisit)
        .where(NationalVisit.settling_msgid == msgid)
        .values(settling_msgid=None)
    )


def link(*, uow: UnitOfWork, bill: VisitBill, settlement_id: int) -> None:
    """In the settlement's transaction: the settled lines and the visit point at it (the
    visit's claim, if any, done)."""
    _LINK_LINE.write_many(
        uow.hot, [{"line_id": line, "paid_by": settlement_id} for line in bill.line_ids]
    )
    status = SETTLED if bill.kind is Visit.INPATIENT else OPEN
    _LINK_VISIT.rows(
        uow.hot, {"visit_id": bill.visit_id, "paid_by": settlement_id, "new_status": status}
    )


def _settled_lines(uow: UnitOfWork, visit_id: int) -> bool:
    return (
        uow.session.scalars(
            select(NationalFeeLine.id).where(
                NationalFeeLine.visit_id == visit_id, NationalFeeLine.settlement_id.is_not(None)
            )
        ).first()
        is not None
    )
