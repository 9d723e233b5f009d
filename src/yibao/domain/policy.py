"""Effective-dated policy of a planning area: contribution base, rates, account crediting rules.

Policy is data: every figure here comes from the area's policy file, never from code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from yibao.domain.cards import DEFAULT_PIN_MAX_TRIES
from yibao.domain.errors import InvalidInput
from yibao.domain.money import parse_rate, yuan_to_fen
from yibao.domain.months import Month
from yibao.domain.pooled import NO_POOLED, PooledPolicy, pooled_from_dict

DEFAULT_FAMILY_RELATIONS = ("spouse", "parent", "child")
_WHOLE_NUMBER = re.compile(r"-?[0-9]+", re.ASCII)


@dataclass(frozen=True, slots=True)
class AgeBand:
    below: int
    rate: Decimal


@dataclass(frozen=True, slots=True)
class FlexibleTier:
    code: str
    rate: Decimal
    account_rate: Decimal


@dataclass(frozen=True, slots=True)
class Policy:
    """The rules in force from month `effective_from` until the next policy of the area."""

    effective_from: Month
    base_floor_fen: int
    base_ceiling_fen: int
    employer_rate: Decimal
    employee_rate: Decimal
    employee_share: Decimal
    employer_share_by_age: tuple[AgeBand, ...]
    retiree_monthly_fen: int
    flexible_tiers: tuple[FlexibleTier, ...]
    resident_annual_fen: int
    pin_max_tries: int = DEFAULT_PIN_MAX_TRIES
    # The e-voucher is not frozen with a lost card (FORMAT.md) unless the area says so.
    evoucher_stops_with_lost_card: bool = False
    # Guobanfa [2021] No. 14: spouse, parents, children; [2024] No. 38 lets areas add close
    # relatives, listed in the area's `family_aid.relations`.
    family_relations: tuple[str, ...] = DEFAULT_FAMILY_RELATIONS
    # What the pooled fund pays of a bill (FORMAT.md `pooled`); without the block, nothing.
    pooled: PooledPolicy = NO_POOLED

    def clamp_base(self, base_fen: int) -> int:
        return min(max(base_fen, self.base_floor_fen), self.base_ceiling_fen)

    def employer_share_rate(self, age: int) -> Decimal:
        """Share of the base credited out of the employer's part: first band with below > age."""
        for band in self.employer_share_by_age:
            if age < band.below:
                return band.rate
        return Decimal(0)

    @property
    def credits_employer_share(self) -> bool:
        return any(band.rate > 0 for band in self.employer_share_by_age)

    def tier(self, code: str) -> FlexibleTier:
        for tier in self.flexible_tiers:
            if tier.code == code:
                return tier
        known = ", ".join(t.code for t in self.flexible_tiers) or "none"
        raise InvalidInput("tier", code, f"is not a flexible tier of this policy (known: {known})")


@dataclass(frozen=True, slots=True)
class PolicySchedule:
    """All policies of one area, oldest first."""

    policies: tuple[Policy, ...]

    def __post_init__(self) -> None:
        months = [p.effective_from for p in self.policies]
        if months != sorted(months) or len(set(months)) != len(months):
            raise InvalidInput("policies", [str(m) for m in months], "must have distinct `from`s")

    def for_month(self, month: Month) -> Policy:
        """The policy with the latest `from` not after `month`."""
        current = None
        for policy in self.policies:
            if policy.effective_from <= month:
                current = policy
        if current is None:
            raise InvalidInput("month", str(month), "is before the area's first policy")
        return current

    def earlier_than(self, month: Month) -> tuple[Policy, ...]:
        return tuple(
            p for p in self.policies if p.effective_from < self.for_month(month).effective_from
        )


def _require(block: Mapping[str, Any], key: str, path: str) -> Any:
    if not isinstance(block, Mapping):
        raise InvalidInput(path, block, "must be a mapping")
    if key not in block:
        raise InvalidInput(f"{path}.{key}", None, "is missing")
    return block[key]


def area_code_of(document: object) -> str:
    """The 6-digit code of an area block (FORMAT.md `area`), refused if the block is malformed."""
    if not isinstance(document, Mapping):
        raise InvalidInput("area", document, "must be a mapping with code, name and policies")
    code = document.get("code")
    if not isinstance(code, str | int) or isinstance(code, bool):
        raise InvalidInput("area.code", code, "must be a 6-digit area code")
    written = str(code)
    if not re.fullmatch(r"[0-9]{6}", written, re.ASCII):
        raise InvalidInput("area.code", code, "must be a 6-digit area code")
    return written


def policy_from_dict(raw: Mapping[str, Any], *, path: str = "policy") -> Policy:
    """Read one entry of an area's `policies` list (the shape docs/scenarios.md shows)."""
    base = _require(raw, "contribution_base", path)
    employee = _require(raw, "employee", path)
    account = _require(employee, "account", f"{path}.employee")
    bands_raw = account.get("employer_share_by_age") or []
    bands = tuple(
        AgeBand(
            below=_int(_require(b, "below", f"{path}.age_band"), f"{path}.age_band.below"),
            rate=parse_rate(_require(b, "rate", f"{path}.age_band"), field=f"{path}.age_band.rate"),
        )
        for b in bands_raw
    )
    if [b.below for b in bands] != sorted(b.below for b in bands):
        raise InvalidInput(f"{path}.employer_share_by_age", bands_raw, "must be in rising `below`")
    tiers = tuple(
        FlexibleTier(
            code=str(_require(t, "code", f"{path}.flexible.tiers")),
            rate=parse_rate(
                _require(t, "rate", f"{path}.flexible.tiers"), field=f"{path}.tier.rate"
            ),
            account_rate=parse_rate(t.get("account_rate", 0), field=f"{path}.tier.account_rate"),
        )
        for t in (raw.get("flexible") or {}).get("tiers") or []
    )
    floor = yuan_to_fen(_require(base, "floor", f"{path}.contribution_base"), field=f"{path}.floor")
    ceiling = yuan_to_fen(
        _require(base, "ceiling", f"{path}.contribution_base"), field=f"{path}.ceiling"
    )
    if floor > ceiling:
        raise InvalidInput(f"{path}.contribution_base", base, "has a floor above its ceiling")
    return Policy(
        effective_from=Month.parse(_require(raw, "from", path), field=f"{path}.from"),
        base_floor_fen=floor,
        base_ceiling_fen=ceiling,
        employer_rate=parse_rate(
            _require(employee, "employer_rate", f"{path}.employee"),
            field=f"{path}.employee.employer_rate",
        ),
        employee_rate=parse_rate(
            _require(employee, "employee_rate", f"{path}.employee"),
            field=f"{path}.employee.employee_rate",
        ),
        employee_share=parse_rate(
            account.get("employee_share", 1), field=f"{path}.employee.account.employee_share"
        ),
        employer_share_by_age=bands,
        retiree_monthly_fen=yuan_to_fen(
            (raw.get("retiree") or {}).get("monthly_amount", 0), field=f"{path}.retiree"
        ),
        flexible_tiers=tiers,
        resident_annual_fen=yuan_to_fen(
            (raw.get("resident") or {}).get("annual_contribution", 0), field=f"{path}.resident"
        ),
        pin_max_tries=_int(
            (raw.get("card") or {}).get("pin_max_tries", DEFAULT_PIN_MAX_TRIES),
            f"{path}.card.pin_max_tries",
        ),
        evoucher_stops_with_lost_card=_bool(
            (raw.get("card") or {}).get("evoucher_stops_with_lost_card", False),
            f"{path}.card.evoucher_stops_with_lost_card",
        ),
        family_relations=tuple(
            str(r) for r in (raw.get("family_aid") or {}).get("relations", DEFAULT_FAMILY_RELATIONS)
        ),
        pooled=pooled_from_dict(raw.get("pooled"), path=f"{path}.pooled"),
    )


def schedule_from_list(raw: Sequence[Mapping[str, Any]]) -> PolicySchedule:
    if not isinstance(raw, Sequence) or not raw:
        raise InvalidInput("area.policies", raw, "must be a non-empty list of policies")
    policies = [policy_from_dict(p, path=f"area.policies[{i}]") for i, p in enumerate(raw)]
    return PolicySchedule(tuple(sorted(policies, key=lambda p: p.effective_from)))


def _int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidInput(field, value, "is not a whole number")
    if isinstance(value, str) and not _WHOLE_NUMBER.fullmatch(value.strip()):
        raise InvalidInput(field, value, "is not a whole number written in the digits 0-9")
    number = int(value)
    if not -(2**31) <= number < 2**31:
        raise InvalidInput(field, value, "is out of range")
    return number


def _bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(field, value, "must be true or false")
    return value
