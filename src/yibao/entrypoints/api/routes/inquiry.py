"""Inquiry with the explainer: by ID number (web, app), with the card and PIN, by the hotline."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from yibao.domain.channels import CARD_CHANNELS, Channel
from yibao.domain.errors import InvalidInput
from yibao.entrypoints.api.deps import CallerDep
from yibao.entrypoints.api.gate import actor_of, checked, guarded
from yibao.entrypoints.api.schemas import Body, Yuan, router
from yibao.services.accounts.access import Target
from yibao.services.inquiry.channels import inquire_with_card
from yibao.services.inquiry.explain import explain_balance, inquiry_json
from yibao.services.inquiry.hotline import HotlineRecordsFromStorage

api = router("inquiry")


class FindingPublic(BaseModel):
    code: str
    summary: str
    summary_zh: str
    evidence: list[str]
    evidence_zh: list[str]  # the same lines in Chinese
    legal_basis: str | None
    legal_basis_zh: str | None
    next_step: str


class InquiryPublic(BaseModel):
    """The same answer as `yibao inquire --json`."""

    person: str  # masked
    as_of: dt.date
    channel: str
    medical_balance: Yuan
    financial_balance: Yuan
    shown_balance: Yuan
    findings: list[FindingPublic]


class CardInquiryCreate(Body):
    card_no: str
    pin: str
    channel: str = "terminal"  # terminal, bank_counter or atm


class HotlineInquiryCreate(Body):
    id_number: str
    password: str  # the query password: the card's PIN


@api.get("/persons/{id_number}/inquiry")
def inquire(
    id_number: str,
    caller: CallerDep,
    channel: str = "web",
    as_of: dt.date | None = None,
) -> InquiryPublic:
    """Balances of both accounts, what the channel shows, and the findings that explain it."""
    if channel in CARD_CHANNELS:
        raise InvalidInput("channel", channel, "is a card channel: POST /api/v1/card-inquiries")
    with guarded(caller, "persons.inquiry", Target(person=id_number), f"inquiry:{channel}") as g:
        day = as_of or g.uow.today()
        records, explanation = explain_balance(
            uow=g.uow, id_number=id_number, as_of=day, channel=channel, actor=actor_of(caller)
        )
        return InquiryPublic.model_validate(inquiry_json(records, explanation))


@api.post("/card-inquiries")
def inquire_with_the_card(body: CardInquiryCreate, caller: CallerDep) -> InquiryPublic:
    """The card channels: the card is read and its PIN checked (wrong tries count)."""
    with checked(caller, "cards.inquiry", Target(card=body.card_no), "inquiry:card") as guard:
        answer = inquire_with_card(
            uow_factory=caller.app.uow,
            channel=body.channel,
            card_no=body.card_no,
            pin=body.pin,
            today=caller.app.today(),
            actor=actor_of(caller),
        )
        guard.person = answer.records.id_number
    return InquiryPublic.model_validate(inquiry_json(answer.records, answer.explanation))


@api.post("/hotline/inquiries")
def hotline(body: HotlineInquiryCreate, caller: CallerDep) -> InquiryPublic:
    """The telephony platform: the caller's ID number and query password, then the answer."""
    target = Target(person=body.id_number)
    with checked(caller, "hotline.inquiry", target, "inquiry:hotline"):
        today = caller.app.today()
        records = HotlineRecordsFromStorage(caller.app.uow, today, actor=actor_of(caller))
        if not records.verify(body.id_number, body.password):
            raise WrongQueryPassword()
        with caller.app.uow() as uow:
            found, explanation = explain_balance(
                uow=uow,
                id_number=body.id_number,
                as_of=today,
                channel=Channel.HOTLINE,
                actor=actor_of(caller),
            )
    return InquiryPublic.model_validate(inquiry_json(found, explanation))


class WrongQueryPassword(InvalidInput):
    """Said the same whether the number, the card or the password was wrong."""

    code = "wrong_query_password"

    def __init__(self) -> None:
        super().__init__("password", "******", "does not match the ID number's card")
