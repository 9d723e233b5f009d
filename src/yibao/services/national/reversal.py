"""2601 reversal (冲正): a settlement whose answer was lost is given back whole; one that
never arrived is barred, so a late copy of it settles nothing."""

from __future__ import annotations

from dataclasses import dataclass

from yibao.domain.errors import InvalidInput
from yibao.services.national import bills, messages
from yibao.services.national.gateway import Caller
from yibao.services.settlement.across_areas_refund import treating_bill
from yibao.services.uow import UnitOfWork

SETTLEMENTS = ("2102", "2207", "2304")
BARRED = "reversed by 2601 before it arrived: nothing was settled"


@dataclass(frozen=True, slots=True)
class Reversal:
    cancelled: bills.Cancelled | None  # None: the message never settled


def reverse(*, uow: UnitOfWork, caller: Caller, psn_no: int, omsgid: str, oinfno: str) -> Reversal:
    if oinfno not in SETTLEMENTS:
        raise InvalidInput("oinfno", oinfno, f"cannot be reversed: only {', '.join(SETTLEMENTS)}")
    found = bills.settlement_of_msgid(uow=uow, caller=caller, msgid=omsgid)
    if found is None:
        crossed = treating_bill(uow=uow, institution_code=caller.code, ref=omsgid)
        if crossed is not None:  # none where there is one database
            raise InvalidInput(
                "omsgid",
                omsgid,
                f"settled a bill of a person insured in {crossed.other_area}: send the 2601 "
                f"with insuplc_admdvs {crossed.other_area}",
            )
        bar(uow=uow, caller=caller, omsgid=omsgid, oinfno=oinfno)
        return Reversal(None)
    if found.refunded_on is not None:
        raise InvalidInput("omsgid", omsgid, f"was cancelled or reversed on {found.refunded_on}")
    done = bills.cancel(uow=uow, caller=caller, setl_id=found.id, psn_no=psn_no)
    return Reversal(done)


def bar(*, uow: UnitOfWork, caller: Caller, omsgid: str, oinfno: str) -> None:
    """The msgid answered as reversed before it arrived: a late copy of it settles nothing."""
    messages.claim(
        uow=uow,
        institution_id=caller.institution_id,
        msgid=omsgid,
        infno=oinfno,
        response=messages.dumps({"infcode": -1, "err_msg": BARRED, "output": {}}),
    )
