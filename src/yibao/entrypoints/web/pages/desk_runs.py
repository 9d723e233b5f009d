"""The desk's batch work: a crediting run started and watched live (htmx polls the API's own
progress route), and the institutions' daily statements and clearing."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from yibao.domain.money import fen_to_yuan
from yibao.domain.months import Month, parse_date
from yibao.entrypoints.api.gate import guarded
from yibao.entrypoints.api.routes import crediting, institutions
from yibao.entrypoints.web.pages import router
from yibao.entrypoints.web.pages.desk import agency_caller
from yibao.entrypoints.web.render import page
from yibao.entrypoints.web.session import posted_by, web_caller
from yibao.services.accounts.access import Target
from yibao.services.contributions.runs import check_run
from yibao.services.settlement import institution_settlement

web = router()


@web.post("/desk/crediting")
async def start_run(request: Request) -> Response:
    """Start an area's month-end crediting (again, to resume one) and show its progress."""
    caller = agency_caller(await posted_by(request))
    form = await request.form()
    area, month = str(form.get("area", "")), Month.parse(str(form.get("month", "")))
    with guarded(caller, "crediting.start", Target(area=area), "crediting_run") as guard:
        check_run(uow=guard.uow, area_code=area, month=month)
    run_id = crediting.jobs_of(request).start(caller.app, area, month)
    return _progress(request, run_id)


@web.get("/desk/crediting/{run_id}")
def run_progress(run_id: str, request: Request) -> Response:
    return _progress(request, run_id)


def _progress(request: Request, run_id: str) -> Response:
    caller = agency_caller(web_caller(request))
    run = crediting.poll(run_id, request, caller)  # the API's own answer, same access rule
    fragment = "_run.html" if request.headers.get("HX-Request") else "run.html"
    return page(request, fragment, caller=caller, run=run)


@web.get("/desk/institutions")
def statement(request: Request, code: str = "", day: str = "") -> Response:
    caller = agency_caller(web_caller(request))
    found = None
    if code:
        on = parse_date(day, field="day") if day else caller.app.today()
        found = institutions.statement(code, on, caller)
    return page(
        request,
        "statement.html",
        caller=caller,
        statement=found,
        code=code,
        day=day,
        clear=True,
        cleared=request.query_params.get("cleared"),
    )


@web.post("/desk/institutions/{code}/clearing")
async def clear(code: str, request: Request) -> Response:
    """Pay the institution what it is owed up to the day; a second clearing pays nothing more."""
    caller = agency_caller(await posted_by(request))
    form = await request.form()
    given = str(form.get("day") or "")
    with guarded(caller, "institutions.clear", Target(institution=code), "clearing") as guard:
        day = parse_date(given, field="day") if given else guard.uow.today()
        paid = institution_settlement.clear_institution(
            uow=guard.uow, institution_code=code, day=day
        )
    return RedirectResponse(
        f"/desk/institutions?code={code}&day={day}&cleared={fen_to_yuan(paid)}", status_code=303
    )
