"""Whether a bill's reference settles across areas or is barred, decided in the insured area's
book, where the money moves.

The two areas' books commit one after the other, so a reversal (2601) that finds the bill in
neither may meet a settlement (2102) whose insured side is still in flight: a bar kept in the
treating area alone would let that settlement pay in the insured area and be answered
"reversed". Both therefore claim the reference (`inter_area_ref`) in the insured area's
database: the settlement in the transaction that writes its bill and moves the money, the
reversal before it bars. The first to commit decides; the other waits on the unique key, then
reads its outcome. A bill settled before the table existed has no claim and needs none: it is
found by its bill.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select

from yibao.adapters.db import insert_skipping_duplicates
from yibao.adapters.tables import InterAreaRef
from yibao.domain.errors import Conflict
from yibao.services.uow import UnitOfWork

SETTLED, BARRED = "settled", "barred"
REF = cast(Table, InterAreaRef.__table__)


class ReversedBeforeSettled(Conflict):
    """The reference was reversed before its settlement reached the insured area's book."""

    code = "already_reversed"


def claim_ref(
    *, uow: UnitOfWork, treating_area: str, institution_code: str, ref: str, outcome: str
) -> str | None:
    """None if `uow` claimed the reference for `outcome`; else the outcome of the claim made
    first (one in flight in another transaction is waited for, then read)."""
    inserted = uow.session.execute(
        insert_skipping_duplicates(uow.dialect, REF)
        .values(
            other_area=treating_area, institution_code=institution_code, ref=ref, outcome=outcome
        )
        .on_conflict_do_nothing()
        .returning(REF.c.id)
    ).first()
    if inserted is not None:
        return None
    first = uow.session.scalars(
        select(REF.c.outcome).where(
            REF.c.other_area == treating_area,
            REF.c.institution_code == institution_code,
            REF.c.ref == ref,
        )
    ).one()
    return str(first)
