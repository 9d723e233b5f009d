"""Crediting runs: start one (202 and a run id), then poll its progress and result."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from yibao.domain.errors import InvalidInput
from yibao.domain.money import fen_to_yuan
from yibao.domain.months import Month
from yibao.entrypoints.api.crediting_jobs import CreditingJobs, run_id_of
from yibao.entrypoints.api.deps import CallerDep, IdempotencyKey
from yibao.entrypoints.api.gate import Guard, guarded, idempotent, request_digest
from yibao.entrypoints.api.schemas import Body, Yuan, router, utc
from yibao.services.accounts.access import Target
from yibao.services.contributions.runs import check_run, run_standing

api = router("crediting")
RUN_ID_SHAPE = "AREA-YYYY-MM"


class CreditingRunCreate(Body):
    area: str
    month: str  # YYYY-MM


class CreditingRunStarted(BaseModel):
    run_id: str
    area: str
    month: str
    status_url: str


class CreditingRunPublic(BaseModel):
    run_id: str
    area: str
    month: str
    state: Literal["not_started", "running", "completed", "failed"]
    done: int | None  # rows worked through, as far as this server process knows
    total: int | None
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    credited_count: int
    credited: Yuan
    failure: str | None


def jobs_of(request: Request) -> CreditingJobs:
    jobs: CreditingJobs = request.app.state.crediting_jobs
    return jobs


@api.post("/crediting-runs", response_model=CreditingRunStarted, status_code=202)
def start(
    body: CreditingRunCreate, request: Request, caller: CallerDep, key: IdempotencyKey
) -> JSONResponse:
    """Start the month-end crediting of an area; it runs on, resumable, and is polled."""
    month = Month.parse(body.month)

    def work(guard: Guard) -> tuple[int, object]:
        check_run(uow=guard.uow, area_code=body.area, month=month)
        run_id = run_id_of(body.area, month)
        started = CreditingRunStarted(
            run_id=run_id,
            area=body.area,
            month=str(month),
            status_url=f"/api/v1/crediting-runs/{run_id}",
        )
        return 202, started.model_dump(mode="json")

    answer = idempotent(
        caller,
        key=key,
        digest=request_digest(request, body.model_dump(mode="json")),
        action="crediting.start",
        target=Target(area=body.area),
        resource="crediting_run",
        work=work,
    )
    jobs_of(request).start(caller.app, body.area, month)  # a retry finds it running or done
    return answer


@api.get("/crediting-runs/{run_id}")
def poll(run_id: str, request: Request, caller: CallerDep) -> CreditingRunPublic:
    area, month = _parse_run_id(run_id)
    with guarded(caller, "crediting.read", Target(area=area), "crediting_run") as guard:
        standing = run_standing(uow=guard.uow, area_code=area, month=month)
    job = jobs_of(request).get(run_id)
    if standing.completed_at is not None:
        state = "completed"
    elif job is not None and job.failure is not None:
        state = "failed"
    elif standing.started_at is not None or (job is not None and not job.finished):
        state = "running"
    else:
        state = "not_started"
    return CreditingRunPublic(
        run_id=run_id,
        area=area,
        month=str(month),
        state=state,
        done=job.done if job else None,
        total=job.total if job else None,
        started_at=utc(standing.started_at),
        completed_at=utc(standing.completed_at),
        credited_count=standing.credited_count,
        credited=fen_to_yuan(standing.credited_fen),
        failure=job.failure if job else None,
    )


def _parse_run_id(run_id: str) -> tuple[str, Month]:
    area, _, month = run_id.partition("-")
    if not area or not month:
        raise InvalidInput("run_id", run_id, f"is not a run id ({RUN_ID_SHAPE})")
    return area, Month.parse(month, field="run_id")
