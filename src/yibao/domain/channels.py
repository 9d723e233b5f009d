"""The channels through which a person asks about their accounts (seeds: web, app, hotline, ...)."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    WEB = "web"  # the agency's website and app
    HOTLINE = "hotline"  # 12333
    POS = "pos"  # a pharmacy's or hospital's receipt
    TERMINAL = "terminal"  # a self-service terminal, with the card
    BANK_COUNTER = "bank_counter"  # with the card, at the bank
    ATM = "atm"  # with the card: an ATM shows the financial (bank) account


CHANNELS = tuple(Channel)
# Where the card is put in and its PIN typed: these answer to the card, never to an ID number.
CARD_CHANNELS = (Channel.TERMINAL, Channel.BANK_COUNTER, Channel.ATM)
# Where the balance shown is the card's financial account, not the medical personal account.
FINANCIAL_CHANNELS = frozenset({Channel.ATM})
