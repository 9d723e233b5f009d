"""National messages about a person insured in another planning area (异地就医), where each
area has its own database.

The message reaches its institution's area B (`fixmedins_code`), whose database keeps what the
institution's messages keep at home: the sign-in, the msgid's first answer, the audit entry.
The message's `insuplc_admdvs` names the person's insured area A, and with it the database the
message's person numbers belong to: `psn_no`, and the `setl_id` of a bill settled across areas,
are numbers of A's database (1101 answered them from there, its insuinfo naming A), never of
B's, where the same number is another person or another bill. A message naming A is resolved
in A's database only; one naming B (or no area) is a home message, as in one database (but a
home 2103 with A's numbers of a bill is refused naming A: `cancellation`). A 3201 naming A
reconciles the institution's bills of A's persons (`reconciliation`).

1101 identifies the person in A's database (a card's PIN tried and counted there) and answers
from it. 2101 quotes and 2102 settles a pharmacy bill through `settlement.at_pos` and
`settlement.across_areas`: the lines cut by B's catalogue (就医地目录), paid under A's policy
(参保地政策) by A's book, B's book recording what its institution is owed by A. 2103 and 2601
give the bill back in both books (`across_areas_given_back`); a 2102 that a 2601 overtook
settles nothing in A's book (`settlement.across_areas_refs`).

A hospital's visit (2201, 2401: `register`) reads the person in A's database and is recorded in
B's (`services.national.visits`), naming A: its person and settlement numbers are of A's
database, and every message about it names A. Its unsettled lines are quoted and settled as a
pharmacy bill is (`presettle`, `settle`, the visit's kind deciding the fund's terms under A's
policy; the answer carries their ratio), the visit's lines linked to A's record of the bill in
B's transaction that keeps the answer; `across_areas_given_back` gives them back in both books
and unlinks them. The visit's lock is taken in that transaction, after both books are written,
too late to keep a second msgid from paying the same lines: so the settling msgid claims the
visit first (`visits.claim`), and gives the claim up if its books moved nothing. A bill across
areas is paid by card and PIN: the cross-area sale takes no e-voucher yet (its payload names
its insured area, but the path that would settle it in that area's database is not built), and
an ID card is read without a PIN, which the cross-area sale does not take (family aid neither).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from yibao.domain.errors import InvalidInput
from yibao.domain.idnumber import mask
from yibao.domain.national import cut_settlement
from yibao.domain.national_codes import national_codes
from yibao.domain.pooled import Visit
from yibao.domain.settlement import check_lines, eligible_fen, total_fen
from yibao.services.areas import AreaDatabases
from yibao.services.national import visits
from yibao.services.national.bills import (
    Bill,
    CutLine,
    InTheSale,
    Patient,
    SettledBill,
    check_bill,
    cut_bill,
    line_items,
    require_same_person,
    sale_cmd,
)
from yibao.services.national.gateway import Caller
from yibao.services.national.people import (
    EVOUCHER,
    SOCIAL_CARD,
    Certificate,
    Insured,
    Secrets,
    check_certificate,
    identify,
    insured,
)
from yibao.services.national.reversal import BARRED
from yibao.services.settlement import CardAndPin, Receipt
from yibao.services.settlement import across_areas_refs as refs
from yibao.services.settlement.across_areas import CrossAreaBill, quote_across_areas
from yibao.services.settlement.across_areas_refund import insured_record
from yibao.services.settlement.at_pos import settle_for_insured_area
from yibao.services.uow import UnitOfWork


def person(
    *,
    areas: AreaDatabases,
    insured_area: str,
    cert: Certificate,
    on: dt.date,
    now: dt.datetime,
    keys: Secrets,
) -> Insured:
    """1101: the person as their insured area's database knows them (a card's PIN counted
    there)."""
    if cert.cert_type == EVOUCHER:
        raise InvalidInput(
            "mdtrt_cert_type",
            cert.cert_type,
            f"is an e-voucher, not taken across areas yet: for a person of insuplc_admdvs "
            f"{insured_area} present the card (03) or the ID card (02)",
        )
    factory = areas.factory(insured_area)
    person_id = identify(uow_factory=factory, cert=cert, on=on, now=now, keys=keys)
    return _insured(areas, insured_area, person_id, on)


def register(
    *,
    areas: AreaDatabases,
    insured_area: str,
    uow: UnitOfWork,
    caller: Caller,
    psn_no: int,
    kind: Visit,
    med_type: str,
    begins_at: dt.datetime,
    details: Mapping[str, Any],
) -> str:
    """2201 and 2401 across areas: the person `psn_no` read in their insured area's database
    (in a scheme on the day), the visit recorded in the institution's (`uow`) naming that
    area; its mdtrt_id. Its later messages name the same area (`visits.visit_of`)."""
    found = _insured(areas, insured_area, psn_no, begins_at.date())
    return visits.record(
        uow=uow, caller=caller, person=found, kind=kind, med_type=med_type,
        begins_at=begins_at, details=details, insured_area=insured_area,
    )  # fmt: skip


def presettle(
    *,
    areas: AreaDatabases,
    insured_area: str,
    uow_factory: Callable[[], UnitOfWork],
    caller: Caller,
    bill: Bill,
    msgid: str,
    on: dt.date,
    now: dt.datetime,
    keys: Secrets,
) -> SettledBill:
    """2101 across areas: what the bill would pay now; nothing moves (a PIN's try is counted
    in the insured area)."""
    _require_card(bill, insured_area)
    found = person(areas=areas, insured_area=insured_area, cert=bill.cert, on=on, now=now,
                   keys=keys)  # fmt: skip
    require_same_person(bill.psn_no, found.person_id)
    lines = cut_bill(uow_factory, caller, bill, on)
    items = line_items(lines, bill.account_used)
    check_lines(items)
    quote = quote_across_areas(
        areas=areas,
        bill=CrossAreaBill(
            found.id_number,
            insured_area,
            caller.code,
            msgid,
            total_fen(items),
            on,
            eligible_fen=eligible_fen(items),
            visit=bill.visit,
            require_scheme=True,
        ),
    )
    return _settled(None, found, bill, lines, on, Decimal(quote.ratio), quote.fund_fen,
                    quote.personal_fen, quote.own_fen, quote.deductible_fen,
                    quote.balance_after_fen)  # fmt: skip


def settle(
    *,
    areas: AreaDatabases,
    insured_area: str,
    uow_factory: Callable[[], UnitOfWork],
    caller: Caller,
    bill: Bill,
    msgid: str,
    on: dt.date,
    alongside: InTheSale,
    visit: visits.VisitBill | None = None,
) -> SettledBill:
    """2102 across areas, its reference the msgid: both books once (a repeat settles nothing
    again); what `alongside` writes commits in one transaction of the institution's database
    once both books are written. A msgid a 2601 barred in the insured area's book settles
    nothing there. A hospital's `visit` (2207, 2304) is claimed by the msgid first
    (`_claimed`)."""
    _require_card(bill, insured_area)
    assert bill.cert.pin is not None
    lines = cut_bill(uow_factory, caller, bill, on)
    sale = _Sale(alongside, areas, insured_area, bill, lines, on)
    card = CardAndPin(bill.cert.cert_no, bill.cert.pin)
    with _claimed(areas, insured_area, uow_factory, caller, visit, msgid):
        try:
            settle_for_insured_area(
                areas=areas,
                uow_factory=uow_factory,
                cmd=sale_cmd(caller, bill, msgid, card, lines, on, sale),
                insured_area=insured_area,
            )
        except refs.ReversedBeforeSettled:  # answered as a barred msgid is at home
            raise refs.ReversedBeforeSettled(BARRED) from None
    assert sale.settled is not None
    return sale.settled


@contextmanager
def _claimed(
    areas: AreaDatabases,
    insured_area: str,
    uow_factory: Callable[[], UnitOfWork],
    caller: Caller,
    visit: visits.VisitBill | None,
    msgid: str,
) -> Iterator[None]:
    """The visit (if any) claimed by `msgid` while its two books are written (`visits.claim`);
    the claim given up again if the settlement fails having written nothing in the insured
    area's book, so there is nothing for a retry to complete."""
    if visit is None:
        yield
        return
    with uow_factory() as uow:
        visits.claim(uow=uow, bill=visit, msgid=msgid)
    try:
        yield
    except Exception:
        with areas.uow(insured_area) as insured_uow:
            moved = insured_record(uow=insured_uow, treating_area=caller.area_code,
                                   institution_code=caller.code, ref=msgid)  # fmt: skip
        if moved is None:
            with uow_factory() as uow:
                visits.release(uow=uow, msgid=msgid)
        raise


def _require_card(bill: Bill, insured_area: str) -> None:
    check_bill(bill)
    check_certificate(bill.cert, pin_required=True)
    if bill.cert.cert_type != SOCIAL_CARD:
        raise InvalidInput(
            "mdtrt_cert_type",
            bill.cert.cert_type,
            f"is not 03: a bill of a person of insuplc_admdvs {insured_area} (another planning "
            "area) is paid by card and PIN",
        )


def _insured(areas: AreaDatabases, insured_area: str, person_id: int, on: dt.date) -> Insured:
    with areas.uow(insured_area) as uow:
        found = insured(uow=uow, person_id=person_id, on=on)
    if found.area_code != insured_area:
        raise InvalidInput(
            "insuplc_admdvs",
            insured_area,
            f"is not the insured area of person {mask(found.id_number)} ({found.area_code})",
        )
    return found


def _settled(
    setl_id: int | None,
    person: Insured,
    bill: Bill,
    lines: tuple[CutLine, ...],
    on: dt.date,
    ratio: Decimal,
    *parts: int,
) -> SettledBill:
    """The answer's bill: `ratio` is the fund's under the insured area's terms (0 at a
    pharmacy, which the fund does not pay); `parts` are the fund's, the account's, the cash,
    the deductible and the balance after. Its codes are the bill's visit's, as at home (a
    3201 reconciles it by that clr_type)."""
    fund, account, cash, deductible, balance_after = parts
    cut = cut_settlement(
        verdicts=[c.verdict for c in lines],
        deductible_fen=deductible,
        ratio=ratio,
        fund_fen=fund,
        account_fen=account,
        cash_fen=cash,
    )
    codes = national_codes(scheme=person.scheme, birth_date=person.birth_date, visit=bill.visit,
                           on=on)  # fmt: skip
    patient = Patient(person.person_id, person.id_number, person.name, person.birth_date,
                      person.sex)  # fmt: skip
    return SettledBill(
        setl_id, patient, bill.cert.cert_type, bill.visit, lines, cut, balance_after, 0,
        codes.insutype or "", codes.psn_type or "", codes.med_type, codes.clr_type,
    )  # fmt: skip


class _Sale:
    """`settlement.Alongside` for a bill across areas: the receipt becomes the settled bill,
    the person read in their insured area's database (the sale checked the card is psn_no's)."""

    def __init__(
        self,
        given: InTheSale,
        areas: AreaDatabases,
        insured_area: str,
        bill: Bill,
        lines: tuple[CutLine, ...],
        on: dt.date,
    ) -> None:
        self.given, self.areas, self.insured_area = given, areas, insured_area
        self.bill, self.lines, self.on = bill, lines, on
        self.settled: SettledBill | None = None

    def before(self, uow: UnitOfWork) -> None:
        self.given.before(uow)

    def after(self, uow: UnitOfWork, receipt: Receipt) -> None:
        found = _insured(self.areas, self.insured_area, self.bill.psn_no, self.on)
        self.settled = _settled(
            receipt.settlement_id, found, self.bill, self.lines, self.on, Decimal(receipt.ratio),
            receipt.fund_fen, receipt.personal_fen, receipt.own_fen, receipt.deductible_fen,
            receipt.balance_after_fen,
        )  # fmt: skip
        self.given.after(uow, self.settled)


__all__ = ["person", "presettle", "register", "settle"]
