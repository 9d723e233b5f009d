"""The agency desk (a clerk of one area, or an administrator): find a person by ID number or
name, their whole record, and the counter's work on it: register, enrol, record a
contribution, the card's life (issue, activate, report loss, replace, reset the PIN), and
merging split records. Every action is the API's, under the same access rule and audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from yibao.domain.cards import valid_pin
from yibao.domain.errors import InvalidInput
from yibao.domain.idnumber import IdNumber
from yibao.domain.money import yuan_to_fen
from yibao.domain.months import Month, parse_date
from yibao.entrypoints.api.deps import Caller
from yibao.entrypoints.api.gate import guarded
from yibao.entrypoints.web.pages import router
from yibao.entrypoints.web.pages.person import person_context
from yibao.entrypoints.web.render import language, page
from yibao.entrypoints.web.session import posted_by, web_caller
from yibao.services import cards, registry
from yibao.services.accounts import Role
from yibao.services.accounts.access import Forbidden, Target
from yibao.services.contributions import ContributionCmd, record_contribution
from yibao.services.registry import record_links
from yibao.services.registry.search import find_persons
from yibao.services.uow import UnitOfWork

web = router()
AGENCY = (Role.CLERK, Role.ADMIN)


def agency_caller(caller: Caller) -> Caller:
    if caller.user.role not in AGENCY:
        raise Forbidden("the agency desk is for the agency's staff")
    return caller


def _area_of(caller: Caller) -> str | None:
    """A clerk works in their own area; an administrator in any."""
    return caller.user.scope if caller.user.role is Role.CLERK else None


@web.get("/desk")
def desk(request: Request, q: str = "") -> Response:
    caller = agency_caller(web_caller(request))
    found = None
    if q.strip():
        area = _area_of(caller)
        with guarded(caller, "persons.read", Target(area=area), "person_search") as guard:
            found = find_persons(uow=guard.uow, text=q, area_code=area)
    with caller.app.uow() as uow:
        areas = registry.area_codes(uow=uow, only=_area_of(caller))
        today = uow.today()
    return page(
        request,
        "desk.html",
        caller=caller,
        q=q,
        found=found,
        areas=areas,
        last_month=str(Month.of(today).plus(-1)),
        today=today,
    )


@web.get("/desk/persons/{id_number}")
def record(id_number: str, request: Request) -> Response:
    caller = agency_caller(web_caller(request))
    context = person_context(caller, id_number, language(request))
    done = request.query_params.get("done")
    return page(request, "desk_person.html", caller=caller, done=done, **context)


@web.post("/desk/persons")
async def register(request: Request) -> Response:
    caller = agency_caller(await posted_by(request))
    form = await request.form()
    area = str(form.get("area") or _area_of(caller) or "")
    number = str(form.get("id_number", ""))
    with guarded(caller, "persons.add", Target(area=area), "person") as guard:
        row = registry.add_person(
            uow=guard.uow, id_number=number, name=str(form.get("name", "")), area_code=area
        )
        guard.person = row.id_number
    return RedirectResponse(f"/desk/persons/{row.id_number}?done=registered", status_code=303)


Action = Callable[[UnitOfWork, str, FormData], Any]


def _on(uow: UnitOfWork, form: FormData) -> Any:
    given = str(form.get("on") or "")
    return parse_date(given, field="on") if given else uow.today()


def _enrol(uow: UnitOfWork, number: str, form: FormData) -> None:
    registry.enroll(
        uow=uow,
        id_number=number,
        scheme=str(form.get("scheme", "")),
        tier=str(form.get("tier") or "") or None,
        on=_on(uow, form),
    )


def _contribution(uow: UnitOfWork, number: str, form: FormData) -> None:
    base = str(form.get("base") or "")
    record_contribution(
        uow=uow,
        cmd=ContributionCmd(
            id_number=number,
            received_on=_on(uow, form),
            insurances=tuple(str(v) for v in form.getlist("insurances")),
            month=Month.parse(str(form.get("month", ""))),
            base_fen=yuan_to_fen(base, field="base") if base else None,
            key=str(form.get("ref") or "") or None,
        ),
    )


def _other(form: FormData) -> str | None:
    """The form's other record (a merge), refused under its field name if not an ID number."""
    given = form.get("other")
    return None if given is None else IdNumber.parse(given, field="other").value


def _merge(uow: UnitOfWork, number: str, form: FormData) -> None:
    other = IdNumber.parse(form.get("other", ""), field="other").value  # named as on the form
    on = _on(uow, form)
    record_links.link(uow=uow, id_number=number, other_id_number=other, on=on)
    record_links.merge(uow=uow, id_number=number, other_id_number=other, on=on)


def _card_no(form: FormData) -> str:
    return str(form.get("card_no", ""))


def _secret(form: FormData, name: str) -> str:
    """A PIN from the form, refused under the form's own field name (never echoed)."""
    pin = str(form.get(name) or "")
    if not valid_pin(pin):
        raise InvalidInput(name, "(hidden)", "must be exactly 6 digits")
    return pin


def _reset_pin(uow: UnitOfWork, number: str, form: FormData) -> None:
    person = registry.person_by_id_number(uow=uow, id_number=number)
    card = cards.require_current_card(uow=uow, person=person)
    cards.reset_pin(uow=uow, card_no=card.card_no, new_pin=_secret(form, "new_pin"))


# action name in the URL -> (the access table's action, the audit resource, the work)
ACTIONS: dict[str, tuple[str, str, Action]] = {
    "enrol": ("persons.enrol", "enrolment", _enrol),
    "contribution": ("contributions.pay", "contribution", _contribution),
    "merge": ("persons.merge", "record_merge", _merge),
    "card-issue": (
        "cards.issue",
        "card",
        lambda uow, n, f: cards.issue_card(
            uow=uow, id_number=n, card_no=_card_no(f), on=_on(uow, f)
        ),
    ),
    "card-activate": (
        "cards.activate",
        "card",
        lambda uow, n, f: cards.activate_card(
            uow=uow, id_number=n, on=_on(uow, f), pin=_secret(f, "pin")
        ),
    ),
    "card-loss": (
        "cards.report_loss",
        "card",
        lambda uow, n, f: cards.report_loss(uow=uow, id_number=n, on=_on(uow, f)),
    ),
    "card-replace": (
        "cards.replace",
        "card",
        lambda uow, n, f: cards.replace_card(
            uow=uow, id_number=n, new_card_no=_card_no(f), on=_on(uow, f)
        ),
    ),
    "pin-reset": ("cards.reset_pin", "pin", _reset_pin),
}


@web.post("/desk/persons/{id_number}/{action}")
async def act(id_number: str, action: str, request: Request) -> Response:
    caller = agency_caller(await posted_by(request))
    if action not in ACTIONS:
        raise InvalidInput("action", action, f"is not one of {', '.join(ACTIONS)}")
    rule, resource, work = ACTIONS[action]
    form = await request.form()
    other = _other(form)  # a merge's other record: the clerk's area must hold it too
    with guarded(caller, rule, Target(person=id_number, other_person=other), resource) as guard:
        work(guard.uow, id_number, form)
    return RedirectResponse(f"/desk/persons/{id_number}?done={action}", status_code=303)
