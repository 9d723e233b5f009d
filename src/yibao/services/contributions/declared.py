"""What an employer declared and paid, month by month and insurance type, and the gaps.

A month lacks medical insurance for an employee when the employer paid something for them
that month without medical, or employed them that whole month and paid nothing at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from yibao.adapters.tables import Contribution, Employment, Person
from yibao.domain.idnumber import mask
from yibao.domain.months import Month
from yibao.services.registry import employer_by_code
from yibao.services.uow import UnitOfWork


@dataclass(slots=True)
class MonthDeclared:
    month: str
    persons: int = 0
    base_fen: int = 0
    medical_employer_fen: int = 0
    medical_person_fen: int = 0
    by_insurance: dict[str, int] = field(default_factory=dict)  # insurance -> persons paid
    lacking_medical: list[str] = field(default_factory=list)  # masked ID numbers


def declared_by_month(
    *, uow: UnitOfWork, employer_code: str, today: dt.date, months: int = 12
) -> list[MonthDeclared]:
    """The last `months` months up to today's, newest first."""
    employer = employer_by_code(uow=uow, code=employer_code)
    last = Month.of(today)
    wanted = [str(last.plus(-back)) for back in range(months)]
    found = {month: MonthDeclared(month) for month in wanted}
    paid: dict[str, dict[str, set[str]]] = {month: {} for month in wanted}
    rows = uow.session.execute(
        select(Contribution, Person.id_number)
        .join(Person, Person.id == Contribution.person_id)
        .where(Contribution.employer_id == employer.id, Contribution.month.in_(wanted))
    ).all()
    for row, number in rows:
        line = found[row.month]
        line.persons += 1
        line.base_fen += row.base_fen or 0
        line.medical_employer_fen += row.medical_employer_fen
        line.medical_person_fen += row.medical_person_fen
        insurances = row.insurances.split(",")
        for insurance in insurances:
            line.by_insurance[insurance] = line.by_insurance.get(insurance, 0) + 1
        paid[row.month].setdefault(number, set()).update(insurances)
    for month in wanted:
        for number in _employed_all_month(uow, employer.id, Month.parse(month)):
            if "medical" not in paid[month].get(number, set()):
                found[month].lacking_medical.append(mask(number))
    return [found[month] for month in wanted]


def _employed_all_month(uow: UnitOfWork, employer_id: int, month: Month) -> list[str]:
    rows = uow.session.execute(
        select(Person.id_number)
        .join(Employment, Employment.person_id == Person.id)
        .where(
            Employment.employer_id == employer_id,
            Employment.hired_on <= month.first_day,
            (Employment.left_on.is_(None)) | (Employment.left_on > month.last_day),
        )
        .order_by(Person.id_number)
    ).all()
    return [str(number) for (number,) in rows]
