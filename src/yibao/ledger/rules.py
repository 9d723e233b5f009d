"""The value-date rules of a debit from an account that may not overdraw.

Whichever path posts it (`Ledger.transfer`, the SQLite settlement path, or the PostgreSQL
`post_settlement` function, which reports what it found), the refusal is built here.
"""

from __future__ import annotations

import datetime as dt

from yibao.ledger.errors import ValueDateBeforeLastPosting, ValueDateInFuture


def value_date_refusal(
    value_date: dt.date,
    *,
    today: dt.date,
    last_posted_on: dt.date | None,
    account: str,
    field: str = "value_date",
) -> ValueDateInFuture | ValueDateBeforeLastPosting | None:
    """Why money may not leave `account` on `value_date`, or None if it may.

    Not after today: money does not leave on a day that has not come. Not before the account's
    last posting: an earlier balance (`ledger balance --as-of`) would go negative.
    """
    if value_date > today:
        return ValueDateInFuture(field, value_date.isoformat(), f"is after today ({today})")
    if last_posted_on is not None and value_date < last_posted_on:
        return ValueDateBeforeLastPosting(
            field,
            value_date.isoformat(),
            f"is before {last_posted_on}, the date of the last posting on {account}",
        )
    return None
