"""The schemes a person can be enrolled in."""

from __future__ import annotations

from enum import StrEnum


class Scheme(StrEnum):
    EMPLOYEE = "employee"  # urban employee basic medical insurance, through an employer
    FLEXIBLE = "flexible"  # flexible employment, self-paid, at a tier
    RESIDENT = "resident"  # urban-rural resident insurance: no personal account
    RETIREE = "retiree"  # retired employee: fixed monthly credit from the pooled fund
    POOLED_ONLY = "pooled_only"  # 单建统筹: hospitalization-only cover by an employer, no account


INSURANCE_TYPES = ("pension", "medical", "unemployment", "injury", "maternity")
