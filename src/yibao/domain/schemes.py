"""The schemes a person can be enrolled in."""

from __future__ import annotations

from enum import StrEnum


class Scheme(StrEnum):
    EMPLOYEE = "employee"  # urban employee basic medical insurance, through an employer
    FLEXIBLE = "flexible"  # flexible employment, self-paid, at a tier
    RESIDENT = "resident"  # urban-rural resident insurance: no personal account
    RETIREE = "retiree"  # retired employee: fixed monthly credit from the pooled fund


INSURANCE_TYPES = ("pension", "medical", "unemployment", "injury", "maternity")
