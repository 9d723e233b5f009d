"""What `yibao ledger check` reports: one record per broken invariant, never an exception."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    invariant: str
    detail: str  # names the row: a transfer id, a contribution id, a settlement reference
