"""`POST /fsi/api/rsfComIfsService/callService`: the national platform's one endpoint.

The gateway's signature first (HTTP 401 and nothing done if it fails), then the envelope,
the institution, the sign-in and the msgid's first answer, then the transaction. Every
refusal after the gateway answers `infcode: -1` naming the field and the value, and writes
nothing; no traceback reaches the caller.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool

from yibao.bootstrap import App
from yibao.config import Settings
from yibao.domain.errors import InvalidInput, YibaoError
from yibao.entrypoints.national import (
    person_info,
    pharmacy,
    reconciliation,
    reversal,
    signin,
    visits,
)
from yibao.entrypoints.national.context import Context, InClaim, OnItsOwn
from yibao.entrypoints.national.envelope import (
    envelope_of,
    failure,
    parse_body,
    response,
    success,
)
from yibao.services.national import NationalRefusal, gateway, messages
from yibao.services.national import signin as signins
from yibao.services.national.gateway import Caller, GatewayRefused
from yibao.services.national.people import Secrets

PATH = "/fsi/api/rsfComIfsService/callService"
SIGN_IN = "9001"
SIGN_IN_OUT = ("9001", "9002")  # about the institution's operator, whatever area it names
# answered for a person of another area, where each area has its own database: the person's
# information, the pharmacy's bills, the hospital's outpatient visits (2201-2208) and admissions
# (2401, 2301, 2402, 2303-2305), the reversal, and the reconciliation of the institution's
# bills of that area's persons (3201)
ACROSS_AREAS = frozenset(
    {"1101", "2101", "2102", "2103", "2601", "3201"}
    | {"2201", "2202", "2203", "2204", "2205", "2206", "2207", "2208"}
    | {"2401", "2301", "2402", "2303", "2304", "2305"}
)
log = logging.getLogger("yibao.national")

IN_CLAIM: dict[str, InClaim] = {  # writes in the transaction that claims the msgid
    "9001": signin.sign_in,
    "9002": signin.sign_out,
    "2103": pharmacy.cancel,
    "2201": visits.register,
    "2202": visits.cancel_registration,
    "2203": visits.visit_information,
    "2204": visits.upload_fees,
    "2205": visits.delete_fees,
    "2208": visits.cancel_settlement,
    "2401": visits.admit,
    "2301": visits.upload_fees,
    "2402": visits.discharge,
    "2305": visits.cancel_settlement,
    "3201": reconciliation.reconcile,
    "2601": reversal.reverse,
}
ON_ITS_OWN: dict[str, OnItsOwn] = {  # commits by itself: a PIN's try
    "1101": person_info.person_info,
    "2101": pharmacy.presettle,
    "2206": visits.presettle,
    "2303": visits.presettle,
}
SETTLES: dict[str, OnItsOwn] = {  # keeps its answer in the settlement's transaction
    "2102": pharmacy.settle,
    "2207": visits.settle,
    "2304": visits.settle,
}

router = APIRouter(tags=["national"])


@router.post(
    PATH,
    responses={
        200: {"description": "The answer envelope: infcode 0, or -1 with err_msg"},
        401: {"description": "The x-tif gateway signature is missing, wrong, stale or replayed"},
    },
)
async def call_service(request: Request) -> Response:
    """One message of the national institution interface."""
    body = await request.body()
    headers = {name: request.headers.get(name) for name in _HEADERS}
    app: App = request.app.state.yibao
    settings: Settings = request.app.state.settings
    status, content = await run_in_threadpool(serve, app, settings, headers, body)
    return Response(content, status_code=status, media_type="application/json")


_HEADERS = ("x-tif-paasid", "x-tif-timestamp", "x-tif-nonce", "x-tif-signature")


STORAGE_UNAVAILABLE = 503
UNKNOWN_OUTCOME = (
    "yibao's storage did not answer; whether the message was done is not known: "
    "send it again with the same msgid"
)


def serve(
    app: App, settings: Settings, headers: Mapping[str, str | None], body: bytes
) -> tuple[int, bytes]:
    """The answer to one message. A storage failure is no answer (HTTP 503, infcode -1): the
    message may have been done (a commit whose acknowledgement was lost), so the institution is
    told to send the same msgid again, which the first answer kept by msgid then settles."""
    try:
        insured_area = None
        if app.areas is not None:
            try:
                app, insured_area = _area_app(app, body)
            except YibaoError as error:
                return 200, response(None, failure(error.message))
        return _serve(app, settings, headers, body, insured_area)
    except (OperationalError, InterfaceError) as error:
        log.warning("national message: storage unavailable: %s", type(error.orig).__name__)
        return STORAGE_UNAVAILABLE, response(None, failure(UNKNOWN_OUTCOME))


def _area_app(app: App, body: bytes) -> tuple[App, str | None]:
    """Where each planning area has its own database: the institution's area's App, and the
    person's insured area if it is another (异地就医), else None.

    The message names its institution (`fixmedins_code`), whose paasid, sign-ins, msgids, kept
    answers and audit entries live in its area's database; the gateway's signature is checked
    there. `insuplc_admdvs` names the person's insured area, and so the database the message's
    `psn_no` (and a cross-area bill's `setl_id`) are numbers of: another area's, for 1101,
    the pharmacy's 2101-2103, the hospital's visits and admissions (2201-2208, 2401, 2301,
    2402, 2303-2305: the visit recorded here, naming that area, every message about it naming
    it too) and 2601 (`services.national.across_areas`); the institution's own where it names
    its area or none, as in one database. A 3201 naming another area reconciles the
    institution's bills of that area's persons, one naming its own area or none its home
    settlements (`services.national.reconciliation`). An area with no database here is
    refused by name.
    """
    assert app.areas is not None
    request = parse_body(body)
    code = request.get("fixmedins_code")
    if not isinstance(code, str) or not code:
        raise InvalidInput("fixmedins_code", code, "is missing")
    area = app.areas.area_of_institution(code)
    infno = request.get("infno")
    insured = None if infno in SIGN_IN_OUT else _insured_area(request)
    if insured is None or insured == area:
        return app.in_area(area), None
    if infno not in ACROSS_AREAS:
        raise InvalidInput(
            "insuplc_admdvs",
            insured,
            f"is not the institution's area {area}: the national interface settles a person of "
            f"another area only in {', '.join(sorted(ACROSS_AREAS))}, not in {infno}",
        )
    if insured not in app.areas.areas:
        raise InvalidInput(
            "insuplc_admdvs",
            insured,
            f"has no database here (areas: {', '.join(app.areas.areas)})",
        )
    return app.in_area(area), insured


def _insured_area(request: Mapping[str, Any]) -> str | None:
    """The insured area the message names: in its envelope, its input or an input block."""
    given = request.get("input")
    blocks = [request]
    if isinstance(given, Mapping):
        blocks += [given, *(value for value in given.values() if isinstance(value, Mapping))]
    for block in blocks:
        value = block.get("insuplc_admdvs")
        if isinstance(value, str) and value:
            return value
    return None


def _serve(
    app: App,
    settings: Settings,
    headers: Mapping[str, str | None],
    body: bytes,
    insured_area: str | None = None,
) -> tuple[int, bytes]:
    try:
        with app.uow().statement_by_statement() as uow:
            caller = gateway.authenticate(
                uow=uow,
                paasid=headers["x-tif-paasid"],
                timestamp=headers["x-tif-timestamp"],
                nonce=headers["x-tif-nonce"],
                signature=headers["x-tif-signature"],
                now=time.time(),
            )
    except GatewayRefused as refusal:
        return 401, response(None, failure(refusal.message))
    msgid: str | None = None
    try:
        envelope = envelope_of(parse_body(body))
        msgid = envelope.msgid
        if envelope.fixmedins_code != caller.code:
            raise InvalidInput(
                "fixmedins_code", envelope.fixmedins_code, "is not the institution of the paasid"
            )
        keys = Secrets(settings.card_secret, settings.electronic_card_seconds)
        now = dt.datetime.now().astimezone()
        context = Context(app, keys, caller, envelope, now, insured_area)
        answer = _answer(context)
    except YibaoError as error:
        answer = failure(error.message)
    except (OperationalError, InterfaceError):
        raise  # no answer: see serve
    except Exception:
        log.exception("national message %s failed", msgid)
        answer = failure("yibao could not answer this message; it was not done, try again")
    return 200, response(msgid, answer)


def _answer(ctx: Context) -> dict[str, Any]:
    infno, caller = ctx.envelope.infno, ctx.caller
    in_claim, on_its_own = IN_CLAIM.get(infno), ON_ITS_OWN.get(infno)
    settles = SETTLES.get(infno)
    if in_claim is None and on_its_own is None and settles is None:
        raise InvalidInput("infno", infno, "is not a transaction yibao answers")
    if settles is not None:
        with ctx.app.uow().statement_by_statement() as uow:
            first = _first(uow, ctx)
        if first is not None:
            return first
        try:
            return settles(ctx, ctx.envelope.input)
        except YibaoError:  # a copy of this message that settled meanwhile has the answer
            with ctx.app.uow().statement_by_statement() as uow:
                first = messages.first_answer(
                    uow=uow, institution_id=caller.institution_id, msgid=ctx.envelope.msgid
                )
            if first is None:
                raise
            return first
    if in_claim is not None:
        with ctx.app.uow() as uow:
            first = _first(uow, ctx)
            if first is not None:
                return first
            claim = messages.claim(
                uow=uow, institution_id=caller.institution_id, msgid=ctx.envelope.msgid, infno=infno
            )
            if claim is None:  # another copy answered meanwhile
                found = _first(uow, ctx)
                assert found is not None
                return found
            answer = success(in_claim(ctx, uow, ctx.envelope.input))
            messages.answer(uow=uow, claim_id=claim, response=answer)
            return answer
    assert on_its_own is not None
    with ctx.app.uow().statement_by_statement() as uow:
        first = _first(uow, ctx)
        if first is not None:
            return first
    answer = success(on_its_own(ctx, ctx.envelope.input))
    with ctx.app.uow() as uow:
        return messages.keep(
            uow=uow,
            institution_id=caller.institution_id,
            msgid=ctx.envelope.msgid,
            infno=infno,
            response=answer,
        )


def _first(uow: Any, ctx: Context) -> dict[str, Any] | None:
    """The msgid's first answer; else, the sign-in the message needs is checked."""
    caller: Caller = ctx.caller
    first, signed_in = messages.first_answer_and_sign_in(
        uow=uow,
        institution_id=caller.institution_id,
        msgid=ctx.envelope.msgid,
        sign_no=ctx.envelope.sign_no or "",
    )
    if first is not None:
        return first
    if ctx.envelope.infno != SIGN_IN and not signed_in:  # the refusal names what is wrong
        signins.require_signed_in(uow=uow, caller=caller, sign_no=ctx.envelope.sign_no)
    return None


__all__ = ["PATH", "NationalRefusal", "router", "serve"]
