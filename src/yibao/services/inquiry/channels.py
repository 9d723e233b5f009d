"""Card-based inquiry channels: the self-service terminal, the bank counter and the ATM.

Each begins as the machine or the teller does: the card is read and its PIN checked (wrong tries
count toward the lock); then the channel shows what it can show. An ATM shows only the card's
financial (bank) account; the terminal and the bank counter show the medical account.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from yibao.domain.channels import CARD_CHANNELS, Channel
from yibao.domain.errors import InvalidInput
from yibao.domain.explain import Explanation, PersonRecords
from yibao.services import cards
from yibao.services.audit import Actor
from yibao.services.inquiry.explain import explain_balance
from yibao.services.registry import person_by_key
from yibao.services.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class ChannelAnswer:
    channel: str
    records: PersonRecords
    explanation: Explanation


def inquire_with_card(
    *,
    uow_factory: Callable[[], UnitOfWork],
    channel: str,
    card_no: str,
    pin: str,
    today: dt.date,
    actor: Actor,
) -> ChannelAnswer:
    """The PIN is checked first; the inquiry is audited by `explain_balance` under `actor`."""
    if channel not in CARD_CHANNELS:
        raise InvalidInput("channel", channel, f"is not one of {', '.join(CARD_CHANNELS)}")
    cards.check_pin(uow_factory=uow_factory, card_no=card_no, pin=pin, on=today)
    with uow_factory() as uow:
        card = cards.card_by_number(uow=uow, card_no=card_no)
        if channel == Channel.ATM:
            cards.state_of(card).require_financial_use()
        person = person_by_key(uow=uow, person_id=card.person_id)
        records, explanation = explain_balance(
            uow=uow,
            id_number=person.id_number,
            as_of=today,
            channel=channel,
            actor=actor,
        )
    return ChannelAnswer(channel, records, explanation)
