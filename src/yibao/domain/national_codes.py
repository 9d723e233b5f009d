"""The national interface's codes of one settlement, from scheme, person and visit.

The national platform's dictionaries: insutype 险种类型, psn_type 人员类别, med_type 医疗类别,
clr_type 清算类别. A settlement record carries them so the national interface can answer in them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from yibao.domain.months import age_on
from yibao.domain.pooled import Visit
from yibao.domain.schemes import Scheme

EMPLOYEE_INSURANCE = "310"  # 职工基本医疗保险
RESIDENT_INSURANCE = "390"  # 城乡居民基本医疗保险

_PSN_TYPE = {
    Scheme.EMPLOYEE: "1101",  # 在职职工
    Scheme.POOLED_ONLY: "1101",  # an employee in service, on hospitalization-only cover
    Scheme.FLEXIBLE: "1103",  # 灵活就业人员
    Scheme.RETIREE: "1201",  # 退休职工
}
ADULT_RESIDENT = "1501"  # 城乡居民 (adult)
MINOR_RESIDENT = "1401"  # 未成年人: the first of 1401-1405; the finer kinds need school data
ADULT_AGE = 18

_MED_TYPE = {Visit.OUTPATIENT: "11", Visit.INPATIENT: "21", Visit.PHARMACY: "41"}
_CLR_TYPE = {Visit.OUTPATIENT: "11", Visit.INPATIENT: "21", Visit.PHARMACY: "41"}


@dataclass(frozen=True, slots=True)
class NationalCodes:
    insutype: str | None  # None: the patient had no scheme that day
    psn_type: str | None
    med_type: str
    clr_type: str


def national_codes(
    *, scheme: Scheme | None, birth_date: dt.date, visit: Visit, on: dt.date
) -> NationalCodes:
    if scheme is None:
        psn_type = None
    elif scheme is Scheme.RESIDENT:
        psn_type = ADULT_RESIDENT if age_on(birth_date, on) >= ADULT_AGE else MINOR_RESIDENT
    else:
        psn_type = _PSN_TYPE[scheme]
    return NationalCodes(insutype_of(scheme), psn_type, _MED_TYPE[visit], clr_type_of(visit))


def insutype_of(scheme: Scheme | None) -> str | None:
    """The scheme's insutype, whatever the person's age; None: no scheme that day."""
    if scheme is None:
        return None
    return RESIDENT_INSURANCE if scheme is Scheme.RESIDENT else EMPLOYEE_INSURANCE


def clr_type_of(visit: Visit) -> str:
    return _CLR_TYPE[visit]
