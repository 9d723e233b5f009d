"""The employer portal: its employees with the art. 58 registration deadline, what it declared
and paid month by month and insurance type, the months lacking medical insurance, and the
monthly declaration of contributions for all its employees in one form, or as a file.

The page names its employees by masked ID number only: the declaration form refers to each by
an opaque reference (`employee_ref`), which the server maps back to one of this employer's own
employees, so neither the HTML nor a tampered form can reach a full ID number.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile

from yibao.domain.errors import InvalidInput
from yibao.domain.idnumber import mask
from yibao.domain.money import fen_to_yuan, yuan_to_fen
from yibao.domain.months import Month
from yibao.entrypoints.api.deps import Caller
from yibao.entrypoints.api.gate import actor_of, guarded
from yibao.entrypoints.api.routes.imports import SHOWN_ERRORS, import_saved, saved_upload
from yibao.entrypoints.web.pages import router
from yibao.entrypoints.web.render import page
from yibao.entrypoints.web.session import posted_by, web_caller
from yibao.services import audit
from yibao.services.accounts import access
from yibao.services.accounts.access import Forbidden, Target
from yibao.services.audit import AuditEvent
from yibao.services.contributions import ContributionCmd, record_contribution
from yibao.services.contributions.declared import declared_by_month
from yibao.services.imports import ImportRefused, RowError
from yibao.services.registry import employer_by_code
from yibao.services.registry.employees import employees_of
from yibao.services.uow import UnitOfWork

web = router()
INSURANCES = ("pension", "medical", "unemployment", "injury", "maternity")


def _employer_code(caller: Caller) -> str:
    user = caller.user
    if user.scope is None or str(user.role) != "employer":
        raise Forbidden("the employer portal is for employers")
    return user.scope


@web.get("/employer")
def portal(request: Request) -> Response:
    imported = request.query_params.get("imported")
    return _portal(
        request,
        web_caller(request),
        imported=int(imported) if imported and imported.isdigit() else None,
        imported_before=request.query_params.get("again") == "1",
    )


def _portal(request: Request, caller: Caller, *, status: int = 200, **extra: Any) -> Response:
    code = _employer_code(caller)
    with guarded(caller, "employers.read", Target(employer=code), "employer") as guard:
        today = guard.uow.today()
        employer = employer_by_code(uow=guard.uow, code=code)
        employees = employees_of(uow=guard.uow, employer_code=code, today=today)
        months = declared_by_month(uow=guard.uow, employer_code=code, today=today, months=6)
    declare_rows = [
        (
            employee_ref(caller, e.id_number),
            e,
            fen_to_yuan(e.last_base_fen) if e.last_base_fen else "",
        )
        for e in employees
        if e.left_on is None
    ]
    return page(
        request,
        "employer.html",
        caller=caller,
        status=status,
        employer=employer,
        employees=employees,
        declare_rows=declare_rows,
        months=months,
        insurances=INSURANCES,
        this_month=str(Month.of(today)),
        declared=request.query_params.get("declared"),
        **({"imported": None} | extra),
    )


def employee_ref(caller: Caller, id_number: str) -> str:
    """How the declaration form names an employee: bound to this session by the server's key,
    so it reveals no ID number, and one made up or copied from another employer's page (or an
    earlier session's) names nobody."""
    key = caller.settings.token_secret.encode()
    message = f"employee:{caller.token_id}:{id_number}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:24]


def _employees_named(caller: Caller, uow: UnitOfWork, code: str, refs: list[str]) -> list[str]:
    """The ID numbers behind the form's references, each one of this employer's employees."""
    employees = employees_of(uow=uow, employer_code=code, today=uow.today())
    by_ref = {employee_ref(caller, e.id_number): e.id_number for e in employees}
    unknown = next((index for index, ref in enumerate(refs) if ref not in by_ref), None)
    if unknown is not None:
        raise InvalidInput(  # masked: a full ID number typed in is not echoed back
            f"person.{unknown}", mask(refs[unknown]), "is not one of this employer's employees"
        )
    return [by_ref[ref] for ref in refs]


@web.post("/employer/declarations/file")
async def declare_file(request: Request) -> Response:
    """The monthly declaration (月度申报) as a file: the API's import of contributions, held to
    the employer's own employees; a refused file shows its row errors and records nothing."""
    form = await request.form()
    try:
        caller = await posted_by(request)
        _employer_code(caller)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("file", "", "no file was chosen")
        errors: list[RowError] = []
        try:
            with saved_upload(upload) as path:
                outcome = import_saved(caller, "contributions", path, upload.filename, errors)
        except ImportRefused as refused:
            shown = errors[:SHOWN_ERRORS]
            return _portal(
                request, caller, status=422, import_errors=shown, refused=refused.refused
            )
    finally:
        await form.close()  # the upload's spooled file
    again = int(outcome.already_imported)
    return RedirectResponse(f"/employer?imported={outcome.rows}&again={again}", status_code=303)


@web.post("/employer/declarations")
async def declare(request: Request) -> Response:
    """One month's contributions for every employee named in the form, in one transaction;
    sent twice, it records them once (each payment's reference names employer, month, person)."""
    caller = await posted_by(request)
    code = _employer_code(caller)
    form = await request.form()
    month = Month.parse(str(form.get("month", "")))
    insurances = tuple(str(value) for value in form.getlist("insurances"))
    refs = [str(value) for value in form.getlist("person")]
    bases = [str(value) for value in form.getlist("base")]
    if not refs or len(refs) != len(bases):
        raise InvalidInput("person", len(refs), "the form names no employee")
    actor = actor_of(caller)
    with guarded(caller, "contributions.pay", Target(employer=code), "declaration") as guard:
        user = caller.authenticate(guard.uow)
        persons = _employees_named(caller, guard.uow, code, refs)
        for index, (number, base) in enumerate(zip(persons, bases, strict=True)):
            target = Target(person=number, employer=code)
            access.authorize(uow=guard.uow, user=user, action="contributions.pay", target=target)
            record_contribution(
                uow=guard.uow,
                cmd=ContributionCmd(
                    id_number=number,
                    received_on=guard.uow.today(),
                    insurances=insurances,
                    month=month,
                    base_fen=yuan_to_fen(base, field=f"base.{index}"),
                    key=f"web-{code}-{month}-{number}",
                ),
            )
            event = AuditEvent(actor, "contributions.pay", caller.channel, number, "contribution")
            audit.record(uow=guard.uow, event=event)
    return RedirectResponse(f"/employer?declared={month}", status_code=303)
