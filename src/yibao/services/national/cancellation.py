"""2103 naming the institution's own area (or none), where each area has its own database.

A cross-area bill's `setl_id` and `psn_no` are numbers of its insured area A's database
(`across_areas`). Sent naming the institution's area B by mistake, a 2103 for it would cancel
whatever bill of B's has the same two numbers at the institution. So a home 2103 whose
numbers are A's record of a bill of this institution, of that person, is refused naming A,
whether or not B has a bill with the same numbers: nothing tells the two apart, and the home
bill can still be given back by its msgid (2601), which no other area's numbers can name.
"""

from __future__ import annotations

from sqlalchemy import select

from yibao.adapters.tables import InterAreaBill, Settlement
from yibao.domain.errors import InvalidInput
from yibao.services.areas import AreaDatabases
from yibao.services.national import bills
from yibao.services.national.gateway import Caller
from yibao.services.settlement.across_areas import TREATING
from yibao.services.settlement.across_areas_refund import insured_record
from yibao.services.uow import UnitOfWork


def cancel_at_home(
    *,
    areas: AreaDatabases | None,
    uow: UnitOfWork,
    caller: Caller,
    setl_id: object,
    psn_no: int,
) -> bills.Cancelled:
    """2103 naming the institution's area: its settlement `setl_id` given back whole, unless
    the numbers are another area's bill of the institution (`areas`: each area's database)."""
    number = bills.setl_id_number(setl_id)
    if areas is not None:
        _refuse_bill_of_other_area(areas, uow, caller, number, psn_no)
    return bills.cancel(uow=uow, caller=caller, setl_id=number, psn_no=psn_no)


def _refuse_bill_of_other_area(
    areas: AreaDatabases, uow: UnitOfWork, caller: Caller, setl_id: int, psn_no: int
) -> None:
    found = [
        area
        for area in _areas_billed(areas, uow, caller)
        if _is_their_bill(areas, area, caller, setl_id, psn_no)
    ]
    if not found:
        return
    named = " or ".join(found)
    also = (
        f"; the bill of {caller.area_code} with the same numbers is given back by 2601 "
        "with its msgid"
        if _is_home_bill(uow, caller, setl_id, psn_no)
        else ""
    )
    raise InvalidInput(
        "setl_id",
        str(setl_id),
        f"with psn_no {psn_no} is a bill of {caller.code} of a person insured in {named}: "
        f"send the 2103 with insuplc_admdvs {named}{also}",
    )


def _areas_billed(areas: AreaDatabases, uow: UnitOfWork, caller: Caller) -> list[str]:
    """The other areas whose persons the institution has billed, as its area's book records
    what they owe (an indexed read each): the only databases its cross-area numbers are of."""
    return [
        area
        for area in areas.areas
        if area != caller.area_code
        and uow.session.scalar(
            select(InterAreaBill.id)
            .where(
                InterAreaBill.side == TREATING,
                InterAreaBill.other_area == area,
                InterAreaBill.institution_code == caller.code,
            )
            .limit(1)
        )
        is not None
    ]


def _is_their_bill(
    areas: AreaDatabases, area: str, caller: Caller, setl_id: int, psn_no: int
) -> bool:
    """Whether `area`'s record `setl_id` is a bill of the institution, of its person `psn_no`."""
    with areas.uow(area) as insured_uow:
        record = insured_record(uow=insured_uow, treating_area=caller.area_code,
                                institution_code=caller.code, bill_id=setl_id)  # fmt: skip
        return record is not None and record.person_id == psn_no


def _is_home_bill(uow: UnitOfWork, caller: Caller, setl_id: int, psn_no: int) -> bool:
    found = uow.session.scalar(
        select(Settlement.id).where(
            Settlement.id == setl_id,
            Settlement.institution_id == caller.institution_id,
            Settlement.patient_person_id == psn_no,
        )
    )
    return found is not None


__all__ = ["cancel_at_home"]
