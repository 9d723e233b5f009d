"""The pharmacy counter (a designated institution): a sale with the card and PIN or an
electronic card payload, the receipt to print, refunds, and the day's statement.

A sale goes through the API's `checked` gate (the POS service commits on its own, the PIN's
try first); the form's reference is made when the form is shown, so a sale sent twice is
settled once and answers with the same receipt.
"""

from __future__ import annotations

import datetime as dt
import secrets

from fastapi import Request, Response
from starlette.datastructures import FormData

from yibao.domain.errors import InvalidInput
from yibao.domain.money import yuan_to_fen
from yibao.domain.months import parse_date
from yibao.entrypoints.api.deps import Caller
from yibao.entrypoints.api.gate import checked, guarded
from yibao.entrypoints.api.routes import institutions
from yibao.entrypoints.web.pages import router
from yibao.entrypoints.web.render import page
from yibao.entrypoints.web.session import posted_by, web_caller
from yibao.services import registry, settlement
from yibao.services.accounts import Role
from yibao.services.accounts.access import Forbidden, Target
from yibao.services.settlement import CardAndPin, ElectronicCard, LineItem, SettleCmd
from yibao.services.settlement.parties import patient_of

web = router()
ITEM_ROWS = 4


def _institution_code(caller: Caller) -> str:
    user = caller.user
    if user.role is not Role.INSTITUTION or user.scope is None:
        raise Forbidden("the counter is for a designated institution's staff")
    return user.scope


@web.get("/counter")
def counter(request: Request) -> Response:
    caller = web_caller(request)
    code = _institution_code(caller)
    with guarded(caller, "institutions.read", Target(institution=code), "institution") as g:
        institution = registry.institution_by_code(uow=g.uow, code=code)
    return page(
        request,
        "counter.html",
        caller=caller,
        institution=institution,
        ref=f"W{dt.date.today():%Y%m%d}-{secrets.token_hex(4)}",
        rows=range(1, ITEM_ROWS + 1),
    )


def _lines(form: FormData) -> tuple[LineItem, ...]:
    lines = []
    for row in range(1, ITEM_ROWS + 1):
        code = str(form.get(f"code{row}") or "").strip()
        if not code:
            continue
        quantity = str(form.get(f"qty{row}") or "1")
        if not quantity.isdigit():
            raise InvalidInput(f"qty{row}", quantity, "is not a whole number")
        amount = yuan_to_fen(str(form.get(f"amount{row}") or ""), field=f"amount{row}")
        own = form.get(f"own{row}") is not None
        lines.append(LineItem(code, int(quantity), amount, account_may_pay=not own))
    if not lines:
        raise InvalidInput("code1", "", "a sale needs at least one item")
    return tuple(lines)


def _credential(form: FormData) -> CardAndPin | ElectronicCard:
    card, ecard = str(form.get("card") or "").strip(), str(form.get("ecard") or "").strip()
    if bool(card) == bool(ecard):
        raise InvalidInput("card", card or None, "give either the card (with its PIN) or an e-card")
    if ecard:
        return ElectronicCard(ecard)
    pin = str(form.get("pin") or "")
    if not pin:
        raise InvalidInput("pin", "(hidden)", "is required with the card")
    return CardAndPin(card, pin)


@web.post("/counter/sales")
async def sell(request: Request) -> Response:
    caller = await posted_by(request)
    code = _institution_code(caller)
    form = await request.form()
    lines = _lines(form)
    payer = str(form.get("payer") or "").strip() or None
    cmd = SettleCmd(
        code, str(form.get("ref", "")), _credential(form), lines, caller.app.today(), payer
    )
    settings = caller.settings
    with checked(caller, "pos.settle", Target(institution=code), "settlement") as guard:
        receipt = settlement.settle(
            uow_factory=caller.app.uow,
            cmd=cmd,
            now=dt.datetime.now(dt.UTC),
            card_secret=settings.card_secret,
            electronic_card_seconds=settings.electronic_card_seconds,
        )
        with caller.app.uow() as uow:
            guard.person = patient_of(uow=uow, institution_code=code, ref=cmd.ref)
            institution = registry.institution_by_code(uow=uow, code=code)
    return page(
        request,
        "receipt.html",
        caller=caller,
        receipt=receipt,
        institution=institution,
        lines=lines,
        day=cmd.on,
        refund=False,
    )


@web.post("/counter/refunds")
async def refund(request: Request) -> Response:
    caller = await posted_by(request)
    code = _institution_code(caller)
    form = await request.form()
    ref = str(form.get("ref", "")).strip()
    with guarded(caller, "pos.refund", Target(institution=code), "refund") as guard:
        receipt = settlement.refund(
            uow=guard.uow, ref=ref, on=guard.uow.today(), institution_code=code
        )
        guard.person = patient_of(uow=guard.uow, institution_code=code, ref=ref)
        institution = registry.institution_by_code(uow=guard.uow, code=code)
        day = guard.uow.today()
    return page(
        request,
        "receipt.html",
        caller=caller,
        receipt=receipt,
        institution=institution,
        lines=(),
        day=day,
        refund=True,
    )


@web.get("/counter/statement")
def statement(request: Request, day: str = "") -> Response:
    caller = web_caller(request)
    code = _institution_code(caller)
    on = parse_date(day, field="day") if day else caller.app.today()
    found = institutions.statement(code, on, caller)
    return page(
        request,
        "statement.html",
        caller=caller,
        statement=found,
        code=code,
        day=str(on),
        clear=False,
        cleared=None,
    )
