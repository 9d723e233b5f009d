"""3201: reconciliation of an institution's totals: of its home settlements, or, naming
another insured area (`Context.insured_area`), of its cross-area bills of that area's persons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yibao.domain.errors import InvalidInput
from yibao.entrypoints.national.context import Context, Output
from yibao.entrypoints.national.envelope import day_of, section, text
from yibao.entrypoints.national.fees import amount
from yibao.services.national import reconciliation
from yibao.services.uow import UnitOfWork


def reconcile(ctx: Context, uow: UnitOfWork, data: Mapping[str, Any]) -> Output:
    given = section(data, "data")
    first = day_of(text(given, "stmt_begndate"), field="stmt_begndate")
    last = day_of(text(given, "stmt_enddate"), field="stmt_enddate")
    if last < first:
        raise InvalidInput("stmt_enddate", str(last), "is before stmt_begndate")
    count = text(given, "fixmedins_setl_cnt")
    if not count.isdigit():
        raise InvalidInput("fixmedins_setl_cnt", count, "is not a count")
    statement = reconciliation.reconcile(
        uow=uow,
        caller=ctx.caller,
        period=reconciliation.Period(text(given, "insutype"), text(given, "clr_type"), first, last),
        theirs=reconciliation.Totals(
            amount(given, "medfee_sumamt"),
            amount(given, "fund_pay_sumamt"),
            amount(given, "acct_pay"),
            int(count),
        ),
        areas=ctx.app.areas,
        insured_area=ctx.insured_area,
    )
    return {
        "stmtinfo": {
            "setl_optins": text(given, "setl_optins"),
            "stmt_rslt": "0" if statement.balanced else "1",
            "stmt_rslt_dscr": "; ".join(statement.differences) or "balanced",
        }
    }
