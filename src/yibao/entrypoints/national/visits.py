"""Outpatient (2201-2208) and inpatient (2401, 2301, 2402, 2303-2305) visits.

A message naming another insured area (`ctx.insured_area`, where each area has its own
database) is about a visit of a person of that area's database: the registration reads the
person there, the settlement goes through `services.national.across_areas`, every message names
the visit's area."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yibao.domain.errors import InvalidInput
from yibao.domain.pooled import Visit
from yibao.entrypoints.api import metrics
from yibao.entrypoints.national.context import AnswerKept, Context, Output
from yibao.entrypoints.national.envelope import TIME_FORMAT, pin_of, rows, section, text, time_of
from yibao.entrypoints.national.fees import amount, fee_line, flag, psn_no
from yibao.entrypoints.national.outputs import detlcutinfo_of_cut, settlement_output
from yibao.entrypoints.national.pharmacy import cancelled_info, setl_id_of
from yibao.services.audit import record
from yibao.services.national import across_areas, across_areas_given_back, bills, people, visits
from yibao.services.uow import UnitOfWork

PRESETTLE = {"2206", "2303"}
KIND_OF = {"2206": Visit.OUTPATIENT, "2207": Visit.OUTPATIENT, "2303": Visit.INPATIENT,
           "2304": Visit.INPATIENT}  # fmt: skip


def _register(
    ctx: Context, uow: UnitOfWork, given: Mapping[str, Any], kind: Visit, **visit: Any
) -> str:
    """The visit's mdtrt_id: `visit` are its med_type, begins_at and details."""
    if ctx.insured_area is None:
        return visits.register(uow=uow, caller=ctx.caller, psn_no=psn_no(given), kind=kind, **visit)
    return across_areas.register(
        areas=ctx.areas, insured_area=ctx.insured_area, uow=uow, caller=ctx.caller,
        psn_no=psn_no(given), kind=kind, **visit,
    )  # fmt: skip


def register(ctx: Context, uow: UnitOfWork, data: Mapping[str, Any]) -> Output:
    given = section(data, "data")
    mdtrt_id = _register(
        ctx,
        uow,
        given,
        Visit.OUTPATIENT,
        med_type=text(given, "med_type", required=False) or "11",
        begins_at=time_of(text(given, "begntime"), field="begntime"),
        details=given,
    )
    return {"data": {"mdtrt_id": mdtrt_id, "psn_no": text(given, "psn_no"),
                     "ipt_otp_no": text(given, "ipt_otp_no", required=False)}}  # fmt: skip


def admit(ctx: Context, uow: UnitOfWork, data: Mapping[str, Any]) -> Output:
    given = section(data, "mdtrtinfo")
    mdtrt_id = _register(
        ctx,
        uow,
        given,
        Visit.INPATIENT,
        med_type=text(given, "med_type", required=False) or "21",
        begins_at=time_of(text(given, "begntime"), field="begntime"),
        details={**given, "diseinfo": data.get("diseinfo", [])},
    )
    return {"result": {"mdtrt_id": mdtrt_id, "psn_no": text(given, "psn_no"),
                       "ipt_otp_no": text(given, "ipt_no", required=False)}}  # fmt: skip


def cancel_registration(ctx: Context, uow: UnitOfWork, data: Mapping[str, Any]) -> Output:
    given = section(data, "data")
    visits.cancel_registration(
        uow=uow, caller=ctx.caller, mdtrt_id=text(given, "mdtrt_id"), psn_no=psn_no(given),
        insured_area=ctx.insured_area,
    )  # fmt: skip
    return {}


def visit_information(ctx: Context, uow: UnitOfWork, data: Mapping[str, Any]) -> Output:
    given = section(data, "mdtrtinfo")
    visits.update_information(
        uow=uow,
        caller=ctx.caller,
        mdtrt_id=text(given, "mdtrt_id"),
        psn_no=psn_no(given),
        med_type=text(given, "med_type", required=False) or None,
        details={**given, "diseinfo": data.get("diseinfo", [])},
        insured_area=ctx.insured_area,
    )
    return {}


def upload_fees(ctx: Context, uow: UnitOfWork, data: Mapping[str, Any]) -> Output:
    lines = rows(data, "feedetail")
    if not lines:
        raise InvalidInput("feedetail", [], "must hold at least one fee line")
    first = lines[0]
    mdtrt_id, patient = text(first, "mdtrt_id"), psn_no(first)
    for index, row in enumerate(lines):
        if text(row, "mdtrt_id") != mdtrt_id:
            raise InvalidInput(f"feedetail[{index}].mdtrt_id", row.get("mdtrt_id"), "differs")
    cut = visits.upload(
        uow=uow,
        caller=ctx.caller,
        mdtrt_id=mdtrt_id,
        psn_no=patient,
        lines=[
            visits.UploadedLine(
                fee_line(row, index, "feedetail"), text(row, "chrg_bchno", required=False)
            )
            for index, row in enumerate(lines)
        ],
        on=ctx.today,
        insured_area=ctx.insured_area,
    )
    return {"result": detlcutinfo_of_cut(cut)}


def delete_fees(ctx: Context, uow: UnitOfWork, data: Mapping[str, Any]) -> Output:
    given = section(data, "data")
    visits.delete_lines(
        uow=uow,
        caller=ctx.caller,
        mdtrt_id=text(given, "mdtrt_id"),
        psn_no=psn_no(given),
        chrg_bchno=text(given, "chrg_bchno"),
        insured_area=ctx.insured_area,
    )
    return {}


def discharge(ctx: Context, uow: UnitOfWork, data: Mapping[str, Any]) -> Output:
    given = section(data, "dscginfo")
    visits.discharge(
        uow=uow,
        caller=ctx.caller,
        mdtrt_id=text(given, "mdtrt_id"),
        psn_no=psn_no(given),
        ends_at=time_of(text(given, "endtime"), field="endtime"),
        insured_area=ctx.insured_area,
    )
    return {}


def _visit_bill(ctx: Context, data: Mapping[str, Any]) -> tuple[str, visits.VisitBill, bills.Bill]:
    given = section(data, "data")
    kind = KIND_OF[ctx.envelope.infno]
    mdtrt_id, patient = text(given, "mdtrt_id"), psn_no(given)
    with ctx.app.uow() as uow:
        found = visits.unsettled(
            uow=uow,
            caller=ctx.caller,
            mdtrt_id=mdtrt_id,
            psn_no=patient,
            chrg_bchno=text(given, "chrg_bchno", required=False) or None,
            insured_area=ctx.insured_area,
        )
        if found.kind is not kind:
            raise InvalidInput("mdtrt_id", mdtrt_id, f"is not an {kind} visit")
        cert = people.Certificate(
            text(given, "mdtrt_cert_type"), text(given, "mdtrt_cert_no"), pin_of(given)
        )
        if (
            kind is Visit.INPATIENT
            and cert.cert_type == people.SOCIAL_CARD
            and cert.pin is None
            and ctx.insured_area is None  # across areas the card's PIN pays (its own database)
        ):  # at discharge the admission identifies the patient: no PIN pad at the ward
            person = people.person_by_psn_no(uow=uow, psn_no=patient)
            cert = people.Certificate(people.ID_CARD, person.id_number)
    flag_name = "acct_used_flag"
    bill = bills.Bill(
        patient,
        cert,
        found.lines,
        amount(given, "medfee_sumamt"),
        flag(given, flag_name) if given.get(flag_name) not in (None, "") else True,
        kind,
    )
    return mdtrt_id, found, bill


def presettle(ctx: Context, data: Mapping[str, Any]) -> Output:
    mdtrt_id, _, bill = _visit_bill(ctx, data)
    if ctx.insured_area is None:
        settled = bills.presettle(
            uow_factory=ctx.app.uow, caller=ctx.caller, bill=bill, on=ctx.today, now=ctx.now,
            keys=ctx.keys,
        )  # fmt: skip
    else:
        settled = across_areas.presettle(
            areas=ctx.areas, insured_area=ctx.insured_area, uow_factory=ctx.app.uow,
            caller=ctx.caller, bill=bill, msgid=ctx.envelope.msgid, on=ctx.today, now=ctx.now,
            keys=ctx.keys,
        )  # fmt: skip
    return settlement_output(
        settled,
        mdtrt_id=mdtrt_id,
        setl_time=ctx.now.strftime(TIME_FORMAT),
        on=ctx.today,
        clr_optins=ctx.caller.area_code,
    )


def settle(ctx: Context, data: Mapping[str, Any]) -> Output:
    """The visit's unsettled lines settled once: the visit's row is locked in the settlement's
    transaction, which also links the lines and keeps the answer. The answer."""
    mdtrt_id, found, bill = _visit_bill(ctx, data)

    def link(uow: UnitOfWork, settled: bills.SettledBill) -> None:
        assert settled.setl_id is not None
        visits.link(uow=uow, bill=found, settlement_id=settled.setl_id)

    kept = AnswerKept(
        ctx,
        lambda settled: settlement_output(
            settled,
            mdtrt_id=mdtrt_id,
            setl_time=ctx.now.strftime(TIME_FORMAT),
            on=ctx.today,
            clr_optins=ctx.caller.area_code,
        ),
        lambda _: f"visit:{mdtrt_id}",
        before=lambda uow: visits.lock_unchanged(uow=uow, bill=found),
        link=link,
    )
    with metrics.settlement("national") as settled:
        if ctx.insured_area is None:
            bills.settle(
                uow_factory=ctx.app.uow, caller=ctx.caller, bill=bill, msgid=ctx.envelope.msgid,
                on=ctx.today, now=ctx.now, keys=ctx.keys, alongside=kept,
            )  # fmt: skip
        else:  # both books, then the link, the answer and the entry in the institution's
            across_areas.settle(
                areas=ctx.areas, insured_area=ctx.insured_area, uow_factory=ctx.app.uow,
                caller=ctx.caller, bill=bill, msgid=ctx.envelope.msgid, on=ctx.today,
                alongside=kept, visit=found,
            )  # fmt: skip
        settled.fen = kept.settled_fen
    assert kept.answer is not None
    return kept.answer


def cancel_settlement(ctx: Context, uow: UnitOfWork, data: Mapping[str, Any]) -> Output:
    given = section(data, "data")
    visits.visit_of(
        uow=uow, caller=ctx.caller, mdtrt_id=text(given, "mdtrt_id"), psn_no=psn_no(given),
        insured_area=ctx.insured_area,
    )  # fmt: skip
    if ctx.insured_area is None:
        done = bills.cancel(
            uow=uow, caller=ctx.caller, setl_id=text(given, "setl_id"), psn_no=psn_no(given)
        )
    else:  # both books give back; the visit's lines unsettled again, as at home
        done = across_areas_given_back.cancel(
            areas=ctx.areas, insured_area=ctx.insured_area, uow=uow, caller=ctx.caller,
            setl_id=text(given, "setl_id"), psn_no=psn_no(given),
        )  # fmt: skip
    resource = f"cancel:{setl_id_of(ctx, done.setl_id)}"
    record(uow=uow, event=ctx.event(ctx.envelope.infno, None, resource))
    return {"setlinfo": cancelled_info(done)}
