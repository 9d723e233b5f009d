"""Point of sale: a designated institution settles a purchase, and refunds it once."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from yibao.domain.errors import InvalidInput
from yibao.domain.money import fen_to_yuan, yuan_to_fen
from yibao.domain.pooled import Visit
from yibao.entrypoints.api import metrics
from yibao.entrypoints.api.deps import CallerDep, IdempotencyKey
from yibao.entrypoints.api.gate import (
    Guard,
    idempotent,
    idempotent_sale,
    request_digest,
)
from yibao.entrypoints.api.schemas import Body, Yuan, day_or_today, router
from yibao.services.accounts.access import Target
from yibao.services.settlement import (
    Alongside,
    CardAndPin,
    ElectronicCard,
    LineItem,
    Receipt,
    SettleCmd,
)
from yibao.services.settlement.at_pos import refund_at_pos, settle_at_pos
from yibao.services.settlement.parties import patient_of

api = router("pos")


class ItemCreate(Body):
    code: str  # catalogue code
    quantity: int
    amount: Yuan
    account_may_pay: bool = True  # False: the person pays it themselves ("own")


class SettlementCreate(Body):
    institution: str
    ref: str = Field(description="the institution's reference (a retry with it settles once)")
    items: list[ItemCreate]
    card: str | None = Field(None, description="card number read by the POS, with `pin`")
    pin: str | None = None
    ecard: str | None = Field(None, description="electronic card payload, instead of a card")
    payer: str | None = Field(None, description="family aid: the paying person's ID number")
    visit: Visit | None = Field(
        None,
        description="pharmacy, outpatient or inpatient (one admission); default: pharmacy at "
        "a pharmacy, outpatient elsewhere",
    )
    day: dt.date | None = None


class RefundCreate(Body):
    institution: str
    day: dt.date | None = None


class ReceiptPublic(BaseModel):
    settlement_id: int
    institution: str
    ref: str
    patient: str  # masked ID number
    payer: str  # masked
    total: Yuan
    personal_account_paid: Yuan
    fund_paid: Yuan  # by the pooled fund (of the insured area, for a bill in another area)
    paid_by_person: Yuan
    balance_after: Yuan
    family_aid: bool
    visit: Visit
    deductible: Yuan  # the part of the bill the fund's deductible took
    ratio: str  # the fund's share of the rest, as the policy writes it ("0.85")


def _public(receipt: Receipt) -> dict[str, object]:
    return ReceiptPublic(
        settlement_id=receipt.settlement_id,
        institution=receipt.institution_code,
        ref=receipt.ref,
        patient=receipt.patient,
        payer=receipt.payer,
        total=fen_to_yuan(receipt.total_fen),
        personal_account_paid=fen_to_yuan(receipt.personal_fen),
        fund_paid=fen_to_yuan(receipt.fund_fen),
        paid_by_person=fen_to_yuan(receipt.own_fen),
        balance_after=fen_to_yuan(receipt.balance_after_fen),
        family_aid=receipt.family_aid,
        visit=Visit(receipt.visit),
        deductible=fen_to_yuan(receipt.deductible_fen),
        ratio=receipt.ratio,
    ).model_dump(mode="json")


def _command(body: SettlementCreate, today: dt.date) -> SettleCmd:
    if (body.card is None) == (body.ecard is None):
        raise InvalidInput("card", body.card, "give either `card` (with its `pin`) or `ecard`")
    if body.card is not None and body.pin is None:
        raise InvalidInput("pin", None, "is required with `card`")
    credential = (
        CardAndPin(body.card, str(body.pin))
        if body.card is not None
        else ElectronicCard(str(body.ecard))
    )
    lines = tuple(
        LineItem(
            item.code,
            item.quantity,
            yuan_to_fen(item.amount, field=f"items.{index}.amount"),
            account_may_pay=item.account_may_pay,
        )
        for index, item in enumerate(body.items)
    )
    return SettleCmd(
        body.institution,
        body.ref,
        credential,
        lines,
        day_or_today(body.day, today),
        body.payer,
        visit=body.visit,
    )


@api.post("/pos/settlements", response_model=ReceiptPublic, status_code=201)
def settle(
    body: SettlementCreate, request: Request, caller: CallerDep, key: IdempotencyKey
) -> JSONResponse:
    """Settle a purchase: the personal account pays what it may, the rest is paid in person."""
    settings = caller.settings

    def sell(alongside: Alongside) -> object:
        cmd = replace(_command(body, caller.app.today()), alongside=alongside)
        with metrics.settlement("pos") as settled:
            receipt = settle_at_pos(
                areas=caller.app.areas,
                uow_factory=caller.app.uow,
                cmd=cmd,
                now=dt.datetime.now(dt.UTC),
                card_secret=settings.card_secret,
                electronic_card_seconds=settings.electronic_card_seconds,
            )
            settled.fen = receipt.total_fen
        return receipt

    return idempotent_sale(
        caller,
        key=key,
        digest=request_digest(request, body.model_dump(mode="json")),
        action="pos.settle",
        target=Target(institution=body.institution),
        resource="settlement",
        sell=sell,
        answer_of=lambda receipt: (201, _public(receipt)),
    )


@api.post("/pos/settlements/{ref}/refund", response_model=ReceiptPublic, status_code=201)
def refund(
    ref: str, body: RefundCreate, request: Request, caller: CallerDep, key: IdempotencyKey
) -> JSONResponse:
    """Refund a whole settlement, once: the personal account gets back what it paid."""

    def work(guard: Guard) -> tuple[int, object]:
        receipt = refund_at_pos(
            areas=caller.app.areas,
            uow=guard.uow,
            ref=ref,
            on=day_or_today(body.day, guard.uow.today()),
            institution_code=body.institution,
        )
        guard.person = patient_of(uow=guard.uow, institution_code=body.institution, ref=ref)
        return 201, _public(receipt)

    return idempotent(
        caller,
        key=key,
        digest=request_digest(request, body.model_dump(mode="json")),
        action="pos.refund",
        target=Target(institution=body.institution),
        resource="refund",
        work=work,
    )
