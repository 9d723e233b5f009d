"""2103 and 2601 about a bill settled across areas (异地就医), where each area has its own
database: the bill given back whole in both books, the insured area A's first (`refund_at_pos`).

A 2103 names A's record of the bill (`setl_id`), read in A's database; a 2601 names the msgid
that settled it. A 2601 whose msgid settled nothing bars it in A's database first, where a 2102
in flight would move the money, then in the institution's area B's, as at home; the first of
the 2102 and the 2601 to commit in A decides (`settlement.across_areas_refs`). A reversal found
in one book only (the two commits interrupted) is refused: the 2102 sent again completes it.
"""

from __future__ import annotations

from yibao.domain.errors import Conflict, InvalidInput
from yibao.services.areas import AreaDatabases
from yibao.services.national import visits
from yibao.services.national.bills import Cancelled, require_same_person, setl_id_number, unlink
from yibao.services.national.gateway import Caller
from yibao.services.national.reversal import SETTLEMENTS, Reversal, bar
from yibao.services.settlement import Receipt, UnknownRef
from yibao.services.settlement import across_areas_refs as refs
from yibao.services.settlement.across_areas_refund import insured_record, treating_bill
from yibao.services.settlement.at_pos import refund_at_pos
from yibao.services.uow import UnitOfWork


def cancel(
    *,
    areas: AreaDatabases,
    insured_area: str,
    uow: UnitOfWork,
    caller: Caller,
    setl_id: object,
    psn_no: int,
) -> Cancelled:
    """2103 across areas: the bill `setl_id` (the insured area's record of it) given back
    whole in both books, the institution's side in `uow`."""
    number = setl_id_number(setl_id)
    written = str(setl_id)  # as the message wrote it
    with areas.uow(insured_area) as insured_uow:
        record = insured_record(uow=insured_uow, treating_area=caller.area_code,
                                institution_code=caller.code, bill_id=number)  # fmt: skip
        found = None if record is None else (record.ref, int(record.person_id or 0))
    if found is None:
        raise UnknownRef(
            f"setl_id: {written!r} is no settlement of {caller.code} for insuplc_admdvs "
            f"{insured_area}"
        )
    ref, person_id = found
    require_same_person(psn_no, person_id)
    refunded = _refund(areas, uow, caller, ref)
    unlink(uow=uow, settlement_id=number, insured_area=insured_area)
    return Cancelled(number, psn_no, refunded)


def reverse(
    *,
    areas: AreaDatabases,
    insured_area: str,
    uow: UnitOfWork,
    caller: Caller,
    psn_no: int,
    omsgid: str,
    oinfno: str,
) -> Reversal:
    """2601 across areas: the bill the msgid settled given back in both books; a msgid that
    settled nothing is barred, first in the insured area's book (where a 2102 in flight would
    move the money: `_insured_side`), then in the institution's database, as at home."""
    if oinfno not in SETTLEMENTS:
        raise InvalidInput("oinfno", oinfno, f"cannot be reversed: only {', '.join(SETTLEMENTS)}")
    treating = treating_bill(uow=uow, institution_code=caller.code, ref=omsgid)
    found, barred = _insured_or_barred(areas, insured_area, caller, omsgid, bar=treating is None)
    if barred:
        bar(uow=uow, caller=caller, omsgid=omsgid, oinfno=oinfno)
        visits.release(uow=uow, msgid=omsgid)  # a barred msgid settles nothing any more
        return Reversal(None)
    if treating is None:  # the 2102 that settled it first may have written it since
        treating = treating_bill(uow=uow, institution_code=caller.code, ref=omsgid)
    if treating is None or found is None:  # the two books' commits were interrupted
        raise Conflict(
            f"omsgid {omsgid!r} was settled in one area's book only: send the {oinfno} again "
            "with the same msgid, which completes it, then reverse it"
        )
    if treating.refunded_on is not None:
        raise InvalidInput("omsgid", omsgid, f"was cancelled or reversed on {treating.refunded_on}")
    setl_id, person_id = found
    require_same_person(psn_no, person_id)
    refunded = _refund(areas, uow, caller, omsgid)
    unlink(uow=uow, settlement_id=setl_id, insured_area=insured_area)
    visits.release(uow=uow, msgid=omsgid)  # written in both books, but never linked
    return Reversal(Cancelled(setl_id, psn_no, refunded))


def _insured_or_barred(
    areas: AreaDatabases, insured_area: str, caller: Caller, omsgid: str, *, bar: bool
) -> tuple[tuple[int, int] | None, bool]:
    """The insured area's record of the msgid's bill (its id and person), and whether the msgid
    is barred there: with `bar`, a msgid with no record is barred now, unless a 2102 claimed
    it first (`claim_ref` waits for one in flight), whose record is then read."""
    area, code = caller.area_code, caller.code
    with areas.uow(insured_area) as insured_uow:
        record = insured_record(uow=insured_uow, treating_area=area, institution_code=code,
                                ref=omsgid)  # fmt: skip
        if record is None and bar:
            first = refs.claim_ref(uow=insured_uow, treating_area=area, institution_code=code,
                                   ref=omsgid, outcome=refs.BARRED)  # fmt: skip
            if first != refs.SETTLED:  # barred now, or by an earlier 2601
                return None, True
            record = insured_record(uow=insured_uow, treating_area=area, institution_code=code,
                                    ref=omsgid)  # fmt: skip
        return (None if record is None else (record.id, int(record.person_id or 0))), False


def _refund(areas: AreaDatabases, uow: UnitOfWork, caller: Caller, ref: str) -> Receipt:
    return refund_at_pos(
        areas=areas, uow=uow, ref=ref, on=uow.today(), institution_code=caller.code
    )


__all__ = ["cancel", "reverse"]
