"""The ledger check: every invariant of the books, and every posting reconciled with its cause."""

from __future__ import annotations

from pydantic import BaseModel

from yibao.entrypoints.api.deps import CallerDep
from yibao.entrypoints.api.gate import guarded
from yibao.entrypoints.api.schemas import router
from yibao.ledger.check import check_ledger
from yibao.services.accounts.access import Target

api = router("ledger")


class LedgerProblemPublic(BaseModel):
    invariant: str
    detail: str


class LedgerCheckPublic(BaseModel):
    ok: bool
    problems: list[LedgerProblemPublic]


@api.get("/ledger/check")
def check(caller: CallerDep) -> LedgerCheckPublic:
    with guarded(caller, "ledger.check", Target(), "ledger") as guard:
        problems = check_ledger(guard.uow.ledger)
    return LedgerCheckPublic(
        ok=not problems,
        problems=[LedgerProblemPublic(invariant=p.invariant, detail=p.detail) for p in problems],
    )
