"""The demo planning area: its policy schedule, employers and designated institutions.

These are few (thousands at most), so they go through the registry services like any other.
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from faker import Faker

from yibao.services.registry import add_employer, add_institution, register_employer
from yibao.services.uow import UnitOfWork

DEFAULT_AREA = "420100"

# Districts of Wuhan (4201xx) with rough population weights; other areas reuse the suffixes.
DISTRICTS = (
    ("02", "江岸区", 9),
    ("03", "江汉区", 6),
    ("04", "硚口区", 6),
    ("05", "汉阳区", 7),
    ("06", "武昌区", 11),
    ("07", "青山区", 4),
    ("11", "洪山区", 13),
    ("12", "东西湖区", 6),
    ("13", "汉南区", 1),
    ("14", "蔡甸区", 5),
    ("15", "江夏区", 8),
    ("16", "黄陂区", 10),
    ("17", "新洲区", 8),
)

_AGE_BANDS_BEFORE_REFORM = [
    {"below": 35, "rate": "0.008"},
    {"below": 45, "rate": "0.010"},
    {"below": 200, "rate": "0.020"},
]
_TIERS = [
    {"code": "basic", "rate": "0.04", "account_rate": "0"},
    {"code": "full", "rate": "0.10", "account_rate": "0.02"},
]


# What the pooled fund pays at clinics and hospitals (deductible, ratio by level, annual cap)
_POOLED: dict[str, Any] = {
    "employee": {
        "outpatient": {
            "deductible": 200,
            "ratio": {"1": "0.70", "2": "0.60", "3": "0.50"},
            "annual_cap": 2000,
        },
        "inpatient": {
            "deductible": {"1": 300, "2": 600, "3": 900},
            "ratio": {"1": "0.92", "2": "0.88", "3": "0.85"},
            "annual_cap": 300000,
        },
        "retiree_ratio_bonus": "0.05",
    },
    "resident": {
        "outpatient": {"deductible": 0, "ratio": "0.50", "annual_cap": 400},
        "inpatient": {
            "deductible": {"1": 200, "2": 500, "3": 800},
            "ratio": {"1": "0.85", "2": "0.75", "3": "0.65"},
            "annual_cap": 150000,
        },
    },
}


def area_document(area_code: str, name: str | None = None) -> dict[str, Any]:
    """Two policies, before and after the reform of Guobanfa [2021] No. 14 (Wuhan: Feb 2023)."""
    return {
        "code": area_code,
        "name": name
        or ("武汉市 (demo)" if area_code == DEFAULT_AREA else f"Demo area {area_code}"),
        "policies": [
            {
                "from": "2015-01",
                "contribution_base": {"floor": 4000, "ceiling": 20000},
                "employee": {
                    "employer_rate": "0.08",
                    "employee_rate": "0.02",
                    "account": {
                        "employee_share": "1",
                        "employer_share_by_age": _AGE_BANDS_BEFORE_REFORM,
                    },
                },
                "retiree": {"monthly_amount": 270},
                "flexible": {"tiers": _TIERS},
                "resident": {"annual_contribution": 380},
                "pooled": _POOLED,
            },
            {
                "from": "2023-02",  # the employer share now goes entirely to the pooled fund
                "contribution_base": {"floor": 4500, "ceiling": 22500},
                "employee": {
                    "employer_rate": "0.08",
                    "employee_rate": "0.02",
                    "account": {"employee_share": "1", "employer_share_by_age": []},
                },
                "retiree": {"monthly_amount": 83},
                "flexible": {"tiers": _TIERS},
                "resident": {"annual_contribution": 400},
                "pooled": _POOLED,
            },
        ],
    }


def district_regions(area_code: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The 6-digit region codes of the area's districts and their population weights."""
    prefix = area_code[:4]
    return tuple(prefix + suffix for suffix, _, _ in DISTRICTS), tuple(w for _, _, w in DISTRICTS)


def district_name(area_code: str, index: int) -> str:
    suffix, name, _ = DISTRICTS[index % len(DISTRICTS)]
    return name if area_code == DEFAULT_AREA else f"{suffix}区"


@dataclass(frozen=True, slots=True)
class EmployerInfo:
    id: int
    code: str
    established: dt.date


class Employers:
    """The area's employers, drawn by size: a few large ones, many small ones."""

    def __init__(self, employers: list[EmployerInfo], sizes: list[int]) -> None:
        self.employers = employers
        self._cumulative = list(accumulate(sizes))

    def __len__(self) -> int:
        return len(self.employers)

    def draw(self, rng: random.Random) -> EmployerInfo:
        """An employer with probability in proportion to its size."""
        point = rng.random() * self._cumulative[-1]
        return self.employers[bisect_right(self._cumulative, point)]


def employer_sizes(rng: random.Random, employees: int) -> list[int]:
    """Pareto-distributed head counts adding up to `employees` (at least one employer)."""
    sizes: list[int] = []
    remaining = max(employees, 1)
    largest = max(remaining // 8, 1)
    while remaining > 0:
        size = min(int(5 * rng.paretovariate(0.9)), largest, remaining)
        size = max(size, 1)
        sizes.append(size)
        remaining -= size
    return sizes


def create_employers(
    *,
    uow_factory: Callable[[], UnitOfWork],
    area_code: str,
    employees: int,
    before: dt.date,
    rng: random.Random,
    fake: Faker,
    batch: int = 500,
) -> Employers:
    """Add and register the employers; a few registered late (art. 57: within 30 days)."""
    sizes = employer_sizes(rng, employees)
    found: list[EmployerInfo] = []
    for first in range(0, len(sizes), batch):
        with uow_factory() as uow:
            for index in range(first, min(first + batch, len(sizes))):
                code = f"E{area_code}{index + 1:06d}"
                established = before - dt.timedelta(days=rng.randint(60, 30 * 365))
                delay = rng.randint(31, 120) if rng.random() < 0.05 else rng.randint(3, 30)
                employer = add_employer(
                    uow=uow, code=code, name=fake.company(), area_code=area_code
                )
                register_employer(uow=uow, code=code, on=established + dt.timedelta(days=delay))
                found.append(EmployerInfo(employer.id, code, established))
    return Employers(found, sizes)


def create_institutions(
    *,
    uow_factory: Callable[[], UnitOfWork],
    area_code: str,
    persons: int,
    rng: random.Random,
    fake: Faker,
) -> int:
    """Designated pharmacies, clinics and hospitals, roughly in a city's proportions."""
    counts = {
        "pharmacy": max(persons // 2_500, 2),
        "clinic": max(persons // 4_000, 1),
        "hospital": max(persons // 30_000, 1),
    }
    made = 0
    with uow_factory() as uow:
        for kind, count in counts.items():
            for number in range(1, count + 1):
                district = district_name(area_code, rng.randrange(len(DISTRICTS)))
                add_institution(
                    uow=uow,
                    code=f"{kind[0].upper()}{area_code}{number:05d}",
                    name=_institution_name(kind, district, number, fake),
                    kind=kind,
                    area_code=area_code,
                    level=3 if kind == "hospital" else 1,
                )
                made += 1
    return made


def _institution_name(kind: str, district: str, number: int, fake: Faker) -> str:
    if kind == "pharmacy":
        return f"{fake.company_prefix()}大药房({district}{number}号店)"
    if kind == "clinic":
        return f"{district}{fake.street_name()}社区卫生服务中心"
    return f"{district}第{number}人民医院" if number % 3 else f"{district}中医医院"
