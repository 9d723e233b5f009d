"""The auditor's pages: the audit trail searched by person, user and day, and the ledger check."""

from __future__ import annotations

from fastapi import Request, Response

from yibao.domain.months import parse_date
from yibao.entrypoints.api.routes import audit, ledger
from yibao.entrypoints.web.pages import router
from yibao.entrypoints.web.render import page
from yibao.entrypoints.web.session import web_caller

web = router()


@web.get("/auditor")
def trail(request: Request, person: str = "", user: str = "", day: str = "") -> Response:
    """The newest entries first; ID numbers masked, as the API answers them."""
    caller = web_caller(request)
    found = audit.entries(
        caller,
        person=person.strip() or None,
        user=user.strip() or None,
        day=parse_date(day, field="day") if day else None,
        limit=200,
    )
    return page(
        request, "auditor.html", caller=caller, entries=found, person=person, who=user, day=day
    )


@web.get("/auditor/ledger")
def ledger_check(request: Request) -> Response:
    caller = web_caller(request)
    return page(request, "ledger.html", caller=caller, check=ledger.check(caller))
