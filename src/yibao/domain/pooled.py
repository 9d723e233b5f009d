"""What the pooled fund (统筹基金) pays of a bill: the area's `pooled` policy block and the split.

Social Insurance Law art. 28: the pooled fund pays the medical costs within the catalogue that
its rules cover; the personal account and the person pay the rest. The figures (deductibles,
ratios by institution level, annual caps, the retiree bonus) are area policy data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from yibao.domain.errors import InvalidInput
from yibao.domain.money import parse_rate, round_half_up_to_fen, yuan_to_fen
from yibao.domain.schemes import Scheme

LEVELS = (1, 2, 3)  # the institution's grade (一级, 二级, 三级)


class Visit(StrEnum):
    PHARMACY = "pharmacy"  # a purchase at a designated pharmacy: the fund pays nothing
    OUTPATIENT = "outpatient"  # deductible per calendar year
    INPATIENT = "inpatient"  # one admission: deductible per admission


def default_visit(institution_kind: str) -> Visit:
    """FORMAT.md: `pharmacy` at a pharmacy, `outpatient` elsewhere."""
    return Visit.PHARMACY if institution_kind == "pharmacy" else Visit.OUTPATIENT


def parse_visit(value: object) -> Visit:
    try:
        return Visit(str(value))
    except ValueError:
        known = ", ".join(v.value for v in Visit)
        raise InvalidInput("visit", value, f"is not one of {known}") from None


def parse_level(value: object, *, field: str = "level") -> int:
    if isinstance(value, bool) or str(value).strip() not in {str(level) for level in LEVELS}:
        raise InvalidInput(field, value, "is not an institution level (1, 2 or 3)")
    return int(str(value).strip())


@dataclass(frozen=True, slots=True)
class ByLevel:
    """One figure, or one per institution level (keys "1", "2", "3", all three given)."""

    values: tuple[Decimal, Decimal, Decimal]

    def at(self, level: int) -> Decimal:
        return self.values[level - 1]


@dataclass(frozen=True, slots=True)
class VisitRule:
    deductible_fen: tuple[int, int, int]  # by level
    ratio: ByLevel
    annual_cap_fen: int


@dataclass(frozen=True, slots=True)
class SchemeRules:
    outpatient: VisitRule | None
    inpatient: VisitRule | None
    retiree_ratio_bonus: Decimal = Decimal(0)

    def for_visit(self, visit: Visit) -> VisitRule | None:
        if visit is Visit.OUTPATIENT:
            return self.outpatient
        if visit is Visit.INPATIENT:
            return self.inpatient
        return None


@dataclass(frozen=True, slots=True)
class PooledPolicy:
    """The `pooled` block: `employee` (employees, flexible workers, retirees) and `resident`."""

    employee: SchemeRules | None = None
    resident: SchemeRules | None = None


NO_POOLED = PooledPolicy()


@dataclass(frozen=True, slots=True)
class FundTerms:
    """What the fund pays for one bill, resolved from the policy, the patient and the visit.

    `ratio` 0 means the fund pays nothing. PostgreSQL's `post_settlement` applies these terms
    under the patient's usage lock exactly as `fund_share` does: keep the two alike.
    """

    visit: Visit
    deductible_fen: int
    ratio: Decimal
    annual_cap_fen: int

    @property
    def pays(self) -> bool:
        return self.visit is not Visit.PHARMACY and self.ratio > 0


NOTHING = FundTerms(Visit.PHARMACY, 0, Decimal(0), 0)


@dataclass(frozen=True, slots=True)
class YearToDate:
    """The patient's pooled usage in the visit's calendar year, refunded bills not counted."""

    outpatient_eligible_fen: int = 0  # what earlier outpatient bills put toward the deductible
    fund_paid_fen: int = 0  # what the fund paid for earlier bills of this visit kind


@dataclass(frozen=True, slots=True)
class FundShare:
    fund_fen: int
    deductible_fen: int  # the part of the eligible amount the deductible took


def terms_for(
    pooled: PooledPolicy,
    *,
    scheme: Scheme | None,
    visit: Visit,
    level: int,
    resident_year_paid: bool,
) -> FundTerms:
    """The fund's terms for the patient's scheme on the visit's day (FORMAT.md, The pooled fund).

    Nothing for a pharmacy visit, no scheme, a resident whose year is unpaid, or a pooled-only
    member's outpatient visit (单建统筹 covers hospitalization only).
    """
    if visit is Visit.PHARMACY or scheme is None:
        return NOTHING
    if scheme is Scheme.RESIDENT:
        if not resident_year_paid:
            return NOTHING
        rules = pooled.resident
    else:
        if scheme is Scheme.POOLED_ONLY and visit is Visit.OUTPATIENT:
            return NOTHING
        rules = pooled.employee
    rule = None if rules is None else rules.for_visit(visit)
    if rule is None or rules is None:
        return NOTHING
    ratio = rule.ratio.at(level)
    if scheme is Scheme.RETIREE:
        ratio = min(ratio + rules.retiree_ratio_bonus, Decimal(1))
    return FundTerms(visit, rule.deductible_fen[level - 1], ratio, rule.annual_cap_fen)


def fund_share(terms: FundTerms, *, eligible_fen: int, usage: YearToDate) -> FundShare:
    """The fund pays ratio x (eligible above the deductible left), half up, within the cap left."""
    if not terms.pays or eligible_fen <= 0:
        return FundShare(0, 0)
    if terms.visit is Visit.OUTPATIENT:
        left = max(terms.deductible_fen - usage.outpatient_eligible_fen, 0)
    else:
        left = terms.deductible_fen
    deductible = min(left, eligible_fen)
    share = round_half_up_to_fen(terms.ratio * (eligible_fen - deductible))
    cap_left = max(terms.annual_cap_fen - usage.fund_paid_fen, 0)
    return FundShare(min(share, cap_left), deductible)


# -- the policy block -----------------------------------------------------------------------
def pooled_from_dict(raw: object, *, path: str) -> PooledPolicy:
    if raw is None:
        return NO_POOLED
    if not isinstance(raw, Mapping):
        raise InvalidInput(path, raw, "must be a mapping with `employee` and/or `resident`")
    unknown = set(raw) - {"employee", "resident"}
    if unknown:
        raise InvalidInput(path, sorted(unknown), "are not schemes (employee, resident)")
    return PooledPolicy(
        employee=_scheme_rules(raw.get("employee"), f"{path}.employee"),
        resident=_scheme_rules(raw.get("resident"), f"{path}.resident"),
    )


def _scheme_rules(raw: object, path: str) -> SchemeRules | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise InvalidInput(path, raw, "must be a mapping with outpatient and/or inpatient")
    unknown = set(raw) - {"outpatient", "inpatient", "retiree_ratio_bonus"}
    if unknown:
        raise InvalidInput(path, sorted(unknown), "are not known (outpatient, inpatient, ...)")
    return SchemeRules(
        outpatient=_visit_rule(raw.get("outpatient"), f"{path}.outpatient"),
        inpatient=_visit_rule(raw.get("inpatient"), f"{path}.inpatient"),
        retiree_ratio_bonus=parse_rate(
            raw.get("retiree_ratio_bonus", 0), field=f"{path}.retiree_ratio_bonus"
        ),
    )


def _visit_rule(raw: object, path: str) -> VisitRule | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise InvalidInput(path, raw, "must be a mapping with deductible, ratio, annual_cap")
    for key in ("deductible", "ratio", "annual_cap"):
        if key not in raw:
            raise InvalidInput(f"{path}.{key}", None, "is missing")
    deductible = _by_level(
        raw["deductible"],
        f"{path}.deductible",
        lambda v, f: Decimal(yuan_to_fen(v, field=f)),
    )
    return VisitRule(
        deductible_fen=(
            int(deductible.values[0]),
            int(deductible.values[1]),
            int(deductible.values[2]),
        ),
        ratio=_by_level(raw["ratio"], f"{path}.ratio", lambda v, f: parse_rate(v, field=f)),
        annual_cap_fen=yuan_to_fen(raw["annual_cap"], field=f"{path}.annual_cap"),
    )


def _by_level(raw: Any, path: str, read: Any) -> ByLevel:
    if not isinstance(raw, Mapping):
        one = read(raw, path)
        return ByLevel((one, one, one))
    keys = {str(k).strip() for k in raw}
    if keys != {"1", "2", "3"}:
        raise InvalidInput(path, sorted(keys), "must give each level 1, 2 and 3")
    by_key = {str(k).strip(): v for k, v in raw.items()}
    values = tuple(read(by_key[str(level)], f"{path}.{level}") for level in LEVELS)
    return ByLevel((values[0], values[1], values[2]))
