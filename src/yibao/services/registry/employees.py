"""An employer's employees with the registration deadline of Social Insurance Law art. 58.

Art. 58: an employer registers a new employee with the agency within 30 days of hiring. A
registration after the deadline is late; none by today, with the deadline passed, is missing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ScalarSelect, select

from yibao.adapters.tables import Contribution, Employment, Person
from yibao.domain.explain import LATE_REGISTRATION_DAYS
from yibao.domain.idnumber import mask
from yibao.services.registry import employer_by_code
from yibao.services.uow import UnitOfWork


class Registration(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"  # registered after the deadline
    MISSING = "missing"  # not registered, and the deadline has passed
    DUE = "due"  # not registered yet, the deadline still ahead


@dataclass(frozen=True, slots=True)
class Employee:
    id_number: str  # the full number, for the employer's own forms; shown masked
    masked: str
    name: str
    hired_on: dt.date
    deadline: dt.date
    registered_on: dt.date | None
    left_on: dt.date | None
    registration: Registration
    last_base_fen: int | None = None  # the base this employer last declared for them

    @property
    def days_late(self) -> int:
        end = self.registered_on or dt.date.today()
        return max(0, (end - self.deadline).days)


def registration_state(hired_on: dt.date, registered_on: dt.date | None, today: dt.date) -> str:
    deadline = hired_on + dt.timedelta(days=LATE_REGISTRATION_DAYS)
    if registered_on is not None:
        return Registration.ON_TIME if registered_on <= deadline else Registration.LATE
    return Registration.MISSING if today > deadline else Registration.DUE


def employees_of(*, uow: UnitOfWork, employer_code: str, today: dt.date) -> list[Employee]:
    """Everyone the employer employs or employed, the current ones and latest hires first."""
    employer = employer_by_code(uow=uow, code=employer_code)
    rows = uow.session.execute(
        select(Employment, Person.id_number, Person.name, _last_base(employer.id))
        .join(Person, Person.id == Employment.person_id)
        .where(Employment.employer_id == employer.id)
        .order_by(Employment.left_on.is_not(None), Employment.hired_on.desc(), Person.id)
    ).all()
    return [
        Employee(
            id_number=number,
            masked=mask(number),
            name=name,
            hired_on=job.hired_on,
            deadline=job.hired_on + dt.timedelta(days=LATE_REGISTRATION_DAYS),
            registered_on=job.registered_on,
            left_on=job.left_on,
            registration=Registration(registration_state(job.hired_on, job.registered_on, today)),
            last_base_fen=base,
        )
        for job, number, name, base in rows
    ]


def _last_base(employer_id: int) -> ScalarSelect[int | None]:
    return (
        select(Contribution.base_fen)
        .where(Contribution.person_id == Person.id, Contribution.employer_id == employer_id)
        .order_by(Contribution.month.desc(), Contribution.id.desc())
        .limit(1)
        .scalar_subquery()
    )
