"""2601: reversal of a settlement by its message id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yibao.domain.national import check_msgid
from yibao.entrypoints.national.context import Context, Output
from yibao.entrypoints.national.envelope import section, text
from yibao.entrypoints.national.fees import psn_no
from yibao.entrypoints.national.pharmacy import cancelled_info
from yibao.services.audit import record
from yibao.services.national import across_areas_given_back, reversal
from yibao.services.uow import UnitOfWork


def reverse(ctx: Context, uow: UnitOfWork, data: Mapping[str, Any]) -> Output:
    given = section(data, "data")
    omsgid = text(given, "omsgid")
    check_msgid(omsgid)
    if ctx.insured_area is None:
        done = reversal.reverse(
            uow=uow,
            caller=ctx.caller,
            psn_no=psn_no(given),
            omsgid=omsgid,
            oinfno=text(given, "oinfno"),
        )
    else:
        done = across_areas_given_back.reverse(
            areas=ctx.areas,
            insured_area=ctx.insured_area,
            uow=uow,
            caller=ctx.caller,
            psn_no=psn_no(given),
            omsgid=omsgid,
            oinfno=text(given, "oinfno"),
        )
    record(uow=uow, event=ctx.event("2601", None, f"reverse:{omsgid}"))
    if done.cancelled is None:
        return {"data": {"omsgid": omsgid, "reversed": "0"}}
    return {"data": {"omsgid": omsgid, "reversed": "1"}, "setlinfo": cancelled_info(done.cancelled)}
