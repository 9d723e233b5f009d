"""The insured person's page: both accounts, the balance chart, the explainer's findings, the
payment records, spending with its split, family bindings, the electronic card, statements.

Each read goes through the API's gate with the API's action, so the access table decides who
may see it and the audit trail records it; `/` is the person's own page, `/persons/{id}` the
same page for whoever the table lets read it (the agency), never another insured person.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Form, Request, Response
from fastapi.responses import RedirectResponse

from yibao.domain.idnumber import IdNumber, mask
from yibao.domain.months import Month
from yibao.entrypoints.api.deps import Caller
from yibao.entrypoints.api.gate import actor_of, guarded
from yibao.entrypoints.web import i18n
from yibao.entrypoints.web.chart import balance_chart, month_points
from yibao.entrypoints.web.i18n import yuan
from yibao.entrypoints.web.pages import router
from yibao.entrypoints.web.render import language, page
from yibao.entrypoints.web.session import WEB_CHANNEL, home_of, posted_by, web_caller
from yibao.services.accounts import Role
from yibao.services.accounts.access import Target
from yibao.services.cards import electronic_card, family
from yibao.services.contributions.payment_records import payment_records
from yibao.services.inquiry.explain import explain_balance
from yibao.services.inquiry.spending import spending_of
from yibao.services.inquiry.statements import statement_file_name, year_statement
from yibao.services.inquiry.transfers import account_history
from yibao.services.registry import person_by_id_number

web = router()
CHART_MONTHS = 24


@web.get("/")
def own_page(request: Request) -> Response:
    caller = web_caller(request)
    user = caller.user
    if user.role is not Role.PERSON or user.scope is None:
        return RedirectResponse(home_of(user.role), status_code=303)
    return _person_page(request, caller, user.scope)


@web.get("/persons/{id_number}")
def person_page(id_number: str, request: Request) -> Response:
    return _person_page(request, web_caller(request), id_number)


def _person_page(request: Request, caller: Caller, id_number: str) -> Response:
    context = person_context(caller, id_number, language(request))
    return page(request, "person.html", caller=caller, **context)


def person_context(caller: Caller, id_number: str, lang: str) -> dict[str, Any]:
    """Everything the person's page shows, each part read under its own access rule."""
    t = i18n.translator(lang)
    target = Target(person=id_number)
    with guarded(caller, "persons.inquiry", target, f"inquiry:{WEB_CHANNEL}") as guard:
        today = guard.uow.today()
        person = person_by_id_number(uow=guard.uow, id_number=id_number)
        records, explanation = explain_balance(
            uow=guard.uow,
            id_number=id_number,
            as_of=today,
            channel=WEB_CHANNEL,
            actor=actor_of(caller),
        )
    since = Month.of(today).plus(-(CHART_MONTHS - 1)).first_day
    with guarded(caller, "persons.transfers", target, "transfers") as guard:
        history = account_history(uow=guard.uow, id_number=id_number, since=since)
        spending = spending_of(uow=guard.uow, id_number=id_number, since=since)
    with guarded(caller, "persons.payment_records", target, "payment_records") as guard:
        payments = payment_records(
            uow=guard.uow, id_number=id_number, actor=actor_of(caller), channel=WEB_CHANNEL
        )
    with guarded(caller, "persons.read", target, "family_bindings") as guard:
        bindings = family.bindings_of(uow=guard.uow, id_number=id_number)
    medical = [
        (h.value_date, h.amount_fen, h.balance_after_fen) for h in history if h.account == "medical"
    ]
    opening = records.medical_fen - sum(amount for _, amount, _ in medical)
    points = month_points(medical, today, CHART_MONTHS, opening_fen=opening)
    return {
        "person": person,
        "masked": mask(person.id_number),
        "id_number": person.id_number,
        "records": records,
        "findings": explanation.findings,
        "medical": yuan(records.medical_fen),
        "financial": yuan(records.financial_fen),
        "has_card": records.card is not None,
        "card": records.card,
        "chart": balance_chart(
            points, title=t("chart_title"), credit=t("credited"), spend=t("spent")
        ),
        "points": points,
        "payments": list(reversed(payments)),
        "spending": spending,
        "bindings": bindings,
        "own": caller.user.role is Role.PERSON,
        "years": sorted(
            {today.year - 1, today.year, *(int(p.month[:4]) for p in payments)}, reverse=True
        )[:5],
        "today": today,
    }


@web.get("/persons/{id_number}/ecard")
def ecard(id_number: str, request: Request) -> Response:
    """A fresh electronic card (QR), good for one sale: the person's own, nobody else's."""
    from yibao.entrypoints.web.qr import qr_svg

    caller = web_caller(request)
    settings = caller.settings
    with guarded(caller, "cards.electronic", Target(person=id_number), "electronic_card") as g:
        payload = electronic_card.issue_evoucher(
            uow=g.uow,
            id_number=id_number,
            now=dt.datetime.now(dt.UTC),
            seconds=settings.electronic_card_seconds,
            secret=settings.card_secret,
        ).token
    t = i18n.translator(language(request))
    return page(
        request,
        "ecard.html",
        caller=caller,
        qr=qr_svg(payload, title=t("ecard_title")),
        payload=payload,
        minutes=settings.electronic_card_seconds // 60,
    )


@web.get("/persons/{id_number}/statements/{year}.pdf")
def statement(id_number: str, year: int, request: Request) -> Response:
    """The yearly statement (Social Insurance Law art. 74), named by masked ID and year."""
    caller = web_caller(request)
    with guarded(caller, "persons.statement", Target(person=id_number), f"statement:{year}") as g:
        found = year_statement(uow=g.uow, year=year, id_number=id_number)
    from yibao.adapters.pdf import render_statement  # ReportLab loads only when rendering

    name = statement_file_name(found.masked_id, year)
    return Response(
        render_statement(found),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@web.post("/persons/{id_number}/family")
async def bind(
    id_number: str,
    request: Request,
    member: Annotated[str, Form()] = "",
    relation: Annotated[str, Form()] = "",
) -> Response:
    caller = await posted_by(request)
    with guarded(caller, "family.bind", Target(person=id_number), "family_binding") as guard:
        family.bind(
            uow=guard.uow,
            id_number=id_number,
            member_id_number=IdNumber.parse(member, field="member").value,  # as the form names it
            relation=relation,
            on=guard.uow.today(),
        )
    return _back_to(caller, id_number, "bound")


@web.post("/persons/{id_number}/family/unbind")
async def unbind(id_number: str, request: Request, member: Annotated[str, Form()] = "") -> Response:
    caller = await posted_by(request)
    with guarded(caller, "family.bind", Target(person=id_number), "family_binding") as guard:
        family.unbind(
            uow=guard.uow, id_number=id_number, member_id_number=member, on=guard.uow.today()
        )
    return _back_to(caller, id_number, "unbound")


def _back_to(caller: Caller, id_number: str, done: str) -> Response:
    own = caller.user.role is Role.PERSON
    where = "/" if own else f"/persons/{id_number}"
    return RedirectResponse(f"{where}?done={done}#family", status_code=303)
