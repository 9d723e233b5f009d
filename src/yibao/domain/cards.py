"""The social security card: its two functions, its PIN, loss and replacement (pure rules).

The second-generation card carries a social security (medical) function and a bank (financial)
account; both are activated separately and never exchange money.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from yibao.domain.errors import YibaoError

DEFAULT_PIN_MAX_TRIES = 6
ELECTRONIC_CARD_SECONDS = 300  # how long a payload lives, unless configured otherwise
PIN_LENGTH = 6


class CardError(YibaoError):
    code = "card_error"


class NoCard(CardError):
    code = "no_card"


class UnknownCard(CardError):
    code = "unknown_card"


class CardNotActivated(CardError):
    code = "card_not_activated"


class CardReportedLost(CardError):
    code = "card_reported_lost"


class CardReplaced(CardError):
    """The card was replaced: it is dead forever, whatever happens to the new one."""

    code = "card_replaced"


class FinancialNotActivated(CardError):
    code = "financial_not_activated"


class WrongPin(CardError):
    code = "wrong_pin"


class PinLocked(CardError):
    code = "pin_locked"


class CardStatus(StrEnum):
    ISSUED = "issued"  # made, not yet usable
    ACTIVE = "active"  # the medical function is on
    LOST = "lost"  # reported lost: frozen at once
    REPLACED = "replaced"  # a new card took its place: dead forever


@dataclass(frozen=True, slots=True)
class CardState:
    card_no: str
    status: CardStatus
    financial_active: bool
    failed_pin_tries: int
    pin_set: bool

    def require_medical_use(self) -> None:
        """Refuse a use of the medical function unless the card is active."""
        if self.status is CardStatus.REPLACED:
            raise CardReplaced(f"card {self.card_no} was replaced and can no longer be used")
        if self.status is CardStatus.LOST:
            raise CardReportedLost(
                f"card {self.card_no} is reported lost and frozen; apply for a replacement"
            )
        if self.status is CardStatus.ISSUED:
            raise CardNotActivated(
                f"the social security function of card {self.card_no} is not activated yet; "
                "activate it where the card was collected"
            )

    def require_financial_use(self) -> None:
        if self.status in (CardStatus.LOST, CardStatus.REPLACED):
            self.require_medical_use()
        if not self.financial_active:
            raise FinancialNotActivated(
                f"the financial (bank) account of card {self.card_no} is not activated; "
                "activate it at a counter of the card's bank"
            )


def valid_pin(pin: str) -> bool:
    return len(pin) == PIN_LENGTH and all("0" <= c <= "9" for c in pin)  # ASCII digits only


def pin_locked(failed_tries: int, max_tries: int) -> bool:
    return failed_tries >= max_tries


@dataclass(frozen=True, slots=True)
class ElectronicCardClaim:
    """What a signed electronic card (QR) payload asserts: this person, insured in this area,
    until then, once. The person id is an internal id of the area's database: it names the
    person only where the person it names there is insured in `area_code`."""

    person_id: int
    area_code: str  # the person's insured area, where the payload was issued
    expires_at: dt.datetime
    nonce: str  # spent by the one sale the payload pays for
