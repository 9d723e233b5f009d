"""2101 pre-settlement, 2102 settlement and 2103 cancellation at a designated pharmacy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yibao.domain.errors import InvalidInput
from yibao.domain.national import yuan
from yibao.domain.pooled import Visit
from yibao.entrypoints.api import metrics
from yibao.entrypoints.national.context import AnswerKept, Context, Output
from yibao.entrypoints.national.envelope import TIME_FORMAT, pin_of, rows, section, text
from yibao.entrypoints.national.fees import amount, fee_line, flag, psn_no
from yibao.entrypoints.national.outputs import settlement_output
from yibao.services.audit import record
from yibao.services.national import (
    across_areas,
    across_areas_given_back,
    bills,
    cancellation,
    people,
)
from yibao.services.uow import UnitOfWork

PHARMACY_MED_TYPE = "41"  # 定点药店购药


def _bill(data: Mapping[str, Any]) -> bills.Bill:
    info = section(data, "druginfo")
    med_type = text(info, "med_type", required=False) or PHARMACY_MED_TYPE
    if med_type != PHARMACY_MED_TYPE:
        raise InvalidInput("med_type", med_type, "is not 41 (a pharmacy purchase)")
    lines = tuple(
        fee_line(row, index, "drugdetail") for index, row in enumerate(rows(data, "drugdetail"))
    )
    return bills.Bill(
        psn_no(info),
        people.Certificate(
            text(info, "mdtrt_cert_type"),
            text(info, "mdtrt_cert_no"),
            pin_of(info) or pin_of(data),
        ),
        lines,
        amount(info, "medfee_sumamt"),
        flag(info, "acct_used_flag"),
        Visit.PHARMACY,
    )


def presettle(ctx: Context, data: Mapping[str, Any]) -> Output:
    if ctx.insured_area is None:
        bill = bills.presettle(
            uow_factory=ctx.app.uow,
            caller=ctx.caller,
            bill=_bill(data),
            on=ctx.today,
            now=ctx.now,
            keys=ctx.keys,
        )
    else:
        bill = across_areas.presettle(
            areas=ctx.areas,
            insured_area=ctx.insured_area,
            uow_factory=ctx.app.uow,
            caller=ctx.caller,
            bill=_bill(data),
            msgid=ctx.envelope.msgid,
            on=ctx.today,
            now=ctx.now,
            keys=ctx.keys,
        )
    return _answer(ctx, bill)


def _answer(ctx: Context, bill: bills.SettledBill) -> Output:
    """A pharmacy bill's answer, quoted (2101) or settled (2102)."""
    return settlement_output(
        bill,
        mdtrt_id=ctx.envelope.msgid,
        setl_time=ctx.now.strftime(TIME_FORMAT),
        on=ctx.today,
        clr_optins=ctx.caller.area_code,
    )


def settle(ctx: Context, data: Mapping[str, Any]) -> Output:
    """The settlement, its answer kept and its audit entry, in one transaction: the answer."""
    kept = AnswerKept(
        ctx,
        lambda bill: _answer(ctx, bill),
        lambda bill: f"sale:{ctx.caller.code}:{setl_id_of(ctx, bill.setl_id)}",
    )
    with metrics.settlement("national") as settled:
        if ctx.insured_area is None:
            bills.settle(
                uow_factory=ctx.app.uow,
                caller=ctx.caller,
                bill=_bill(data),
                msgid=ctx.envelope.msgid,
                on=ctx.today,
                now=ctx.now,
                keys=ctx.keys,
                alongside=kept,
            )
        else:
            across_areas.settle(
                areas=ctx.areas,
                insured_area=ctx.insured_area,
                uow_factory=ctx.app.uow,
                caller=ctx.caller,
                bill=_bill(data),
                msgid=ctx.envelope.msgid,
                on=ctx.today,
                alongside=kept,
            )
        settled.fen = kept.settled_fen
    assert kept.answer is not None
    return kept.answer


def cancel(ctx: Context, uow: UnitOfWork, data: Mapping[str, Any]) -> Output:
    given = section(data, "data")
    if ctx.insured_area is None:  # not another area's bill sent naming this one by mistake
        done = cancellation.cancel_at_home(
            areas=ctx.app.areas,
            uow=uow,
            caller=ctx.caller,
            setl_id=text(given, "setl_id"),
            psn_no=psn_no(given),
        )
    else:
        done = across_areas_given_back.cancel(
            areas=ctx.areas,
            insured_area=ctx.insured_area,
            uow=uow,
            caller=ctx.caller,
            setl_id=text(given, "setl_id"),
            psn_no=psn_no(given),
        )
    resource = f"cancel:{setl_id_of(ctx, done.setl_id)}"
    record(uow=uow, event=ctx.event(ctx.envelope.infno, None, resource))
    return {"setlinfo": cancelled_info(done)}


def setl_id_of(ctx: Context, setl_id: int | None) -> str:
    """The settlement as the audit entry names it: a bill across areas by its insured area's
    record."""
    return str(setl_id) if ctx.insured_area is None else f"{ctx.insured_area}/{setl_id}"


def cancelled_info(done: bills.Cancelled) -> dict[str, Any]:
    receipt = done.receipt
    return {
        "setl_id": str(done.setl_id),
        "psn_no": str(done.psn_no),
        "medfee_sumamt": yuan(-receipt.total_fen),
        "fund_pay_sumamt": yuan(-receipt.fund_fen),
        "acct_pay": yuan(-receipt.personal_fen),
        "psn_cash_pay": yuan(-receipt.own_fen),
        "balc": yuan(receipt.balance_after_fen),
    }
