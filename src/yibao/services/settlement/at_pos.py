"""A POS sale where each planning area has its own database: at home, or across areas.

The request reaches the institution's area. A card issued there settles as in one database,
and so does an electronic card, whose payload names a person id and that person's insured area:
refused where the person the id names here is not of that area. A card
issued in another area is the insured person's of that area (异地就医): its PIN is tried in the
database that holds it, and the bill goes through `settle_across_areas`, which writes each
area's side in its own book.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

from yibao.domain.cards import ELECTRONIC_CARD_SECONDS
from yibao.domain.errors import InvalidInput, UnknownInstitution
from yibao.domain.idnumber import mask
from yibao.domain.settlement import check_lines, eligible_fen, total_fen
from yibao.services import cards
from yibao.services.areas import AreaDatabases
from yibao.services.registry import fields
from yibao.services.settlement import (
    CardAndPin,
    Receipt,
    SettleCmd,
    keep_alongside,
    refund,
    settle,
)
from yibao.services.settlement.across_areas import (
    CrossAreaBill,
    CrossAreaReceipt,
    settle_across_areas,
)
from yibao.services.settlement.across_areas_refund import refund_across_areas, treating_bill
from yibao.services.uow import UnitOfWork


def settle_at_pos(
    *,
    areas: AreaDatabases | None,
    uow_factory: Callable[[], UnitOfWork],
    cmd: SettleCmd,
    now: dt.datetime,
    card_secret: str,
    electronic_card_seconds: int = ELECTRONIC_CARD_SECONDS,
) -> Receipt:
    """Settle `cmd` in the institution's database, or across areas for another area's card."""
    insured_area = _other_area_of_card(areas, cmd)
    if areas is None or insured_area is None:
        return settle(
            uow_factory=uow_factory,
            cmd=cmd,
            now=now,
            card_secret=card_secret,
            electronic_card_seconds=electronic_card_seconds,
        )
    return settle_for_insured_area(
        areas=areas, uow_factory=uow_factory, cmd=cmd, insured_area=insured_area
    )


def settle_for_insured_area(
    *,
    areas: AreaDatabases,
    uow_factory: Callable[[], UnitOfWork],
    cmd: SettleCmd,
    insured_area: str,
) -> Receipt:
    """Settle `cmd`, a card and PIN of a person insured in `insured_area`, across areas;
    `cmd.alongside` runs in `uow_factory`'s database (the institution's) once both books
    are written. The national interface names the insured area (its `insuplc_admdvs`)."""
    if not isinstance(cmd.credential, CardAndPin):
        raise InvalidInput(
            "credential", type(cmd.credential).__name__, "is not a card and PIN across areas"
        )
    receipt = _settle_across(areas, cmd, insured_area)
    keep_alongside(uow_factory=uow_factory, cmd=cmd, receipt=receipt)
    return receipt


def _other_area_of_card(areas: AreaDatabases | None, cmd: SettleCmd) -> str | None:
    """The card's area, if the card was issued in an area other than the institution's."""
    if areas is None or not isinstance(cmd.credential, CardAndPin):
        return None
    try:
        here = areas.area_of_institution(cmd.institution_code)
    except UnknownInstitution:
        return None  # named by the sale in the database the request was sent to
    card_area = areas.area_of_card(cmd.credential.card_no, first=here)
    if card_area is None or card_area == here:
        return None  # an unknown card is named by the sale in the institution's database
    return card_area


def _settle_across(areas: AreaDatabases, cmd: SettleCmd, insured_area: str) -> Receipt:
    credential = cmd.credential
    assert isinstance(credential, CardAndPin)
    check_lines(cmd.lines)
    fields.ref(cmd.ref)
    if cmd.payer_id_number is not None:
        raise InvalidInput(
            "payer", mask(cmd.payer_id_number), "family aid is not paid across planning areas"
        )
    with cards.pin_checked(
        uow_factory=areas.factory(insured_area),
        card_no=credential.card_no,
        pin=credential.pin,
        on=cmd.on,
        read_holder=cards.read_card_holder,
    ) as (_, holder):
        pass  # a wrong PIN was counted, and refused, in the card's own database
    if cmd.patient_person_id is not None and cmd.patient_person_id != holder.person_id:
        raise InvalidInput(
            "psn_no", cmd.patient_person_id, "is not the person the credential identifies"
        )
    bill = CrossAreaBill(
        holder.id_number,
        insured_area,
        cmd.institution_code,
        cmd.ref,
        total_fen(cmd.lines),
        cmd.on,
        eligible_fen=eligible_fen(cmd.lines),
        visit=cmd.visit,
        require_scheme=cmd.require_scheme,
    )
    receipt = _receipt(settle_across_areas(areas=areas, bill=bill))
    return replace(receipt, patient_id_number=holder.id_number)  # for the audit entry only


def refund_at_pos(
    *,
    areas: AreaDatabases | None,
    uow: UnitOfWork,
    ref: str,
    on: dt.date,
    institution_code: str | None,
) -> Receipt:
    """Refund a sale of the institution in `uow`'s database, or a bill it settled for a
    person of another area (then both areas' books give back)."""
    if areas is not None and institution_code is not None:
        crossed = treating_bill(uow=uow, institution_code=institution_code, ref=ref)
        if crossed is not None:
            return _receipt(
                refund_across_areas(
                    areas=areas,
                    treating_uow=uow,
                    institution_code=institution_code,
                    ref=ref,
                    on=on,
                )
            )
    return refund(uow=uow, ref=ref, on=on, institution_code=institution_code)


def _receipt(crossed: CrossAreaReceipt) -> Receipt:
    """A cross-area bill's receipt as the POS shows any: fund, account and cash."""
    return Receipt(
        settlement_id=crossed.bill_id,
        institution_code=crossed.institution_code,
        ref=crossed.ref,
        patient=crossed.patient,
        payer=crossed.patient,
        total_fen=crossed.total_fen,
        personal_fen=crossed.personal_fen,
        own_fen=crossed.own_fen,
        balance_after_fen=crossed.balance_after_fen,
        family_aid=False,
        fund_fen=crossed.fund_fen,
        deductible_fen=crossed.deductible_fen,
        ratio=crossed.ratio,
        visit=crossed.visit,
    )
