"""Refusals of the ledger."""

from __future__ import annotations

from yibao.domain.errors import Conflict, InvalidInput, YibaoError


class InsufficientFunds(YibaoError):
    code = "insufficient_funds"


class IdempotencyConflict(Conflict):
    """The key was used before for a transfer with different content."""

    code = "idempotency_conflict"


class AlreadyReversed(Conflict):
    code = "already_reversed"


class UnknownTransfer(YibaoError):
    code = "unknown_ref"


class CrossBookTransfer(InvalidInput):
    """The medical book and the bank book never exchange money."""


class ValueDateBeforeLastPosting(InvalidInput):
    """A debit dated before a posting already on its account would make an earlier balance
    (`ledger balance --as-of`) negative on an account that may not overdraw."""

    code = "value_date_before_last_posting"


class ValueDateInFuture(InvalidInput):
    """Money cannot leave an account on a day that has not come yet."""

    code = "value_date_in_future"
