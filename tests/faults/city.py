"""The city the fault run serves: employees with cards, PINs and credited accounts, a pharmacy,
a hospital with a pooled fund whose outpatient deductible and cap are small enough to be reached.

Built through the services where money moves (contributions in the ledger by a crediting run),
so `ledger check` reconciles every posting with its cause; persons, enrolments and cards are
inserted in bulk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import yaml
from sqlalchemy import insert, text

from tests.scenario_files import EXAMPLES
from yibao.adapters.tables import Contribution, Enrollment, Person
from yibao.bootstrap import App
from yibao.domain.crediting import MedicalContribution, credit_for
from yibao.domain.idnumber import IdNumber, make_id_number
from yibao.domain.months import Month
from yibao.domain.schemes import Scheme
from yibao.services import accounts, cards, catalogue, registry
from yibao.services.accounts import UnknownUser
from yibao.services.accounts.tokens import issue_token
from yibao.services.contributions.crediting import run_crediting
from yibao.services.national import gateway

AREA = "420100"
PHARMACY, HOSPITAL = "P001", "H002"
PIN = "246810"
DRUG, EXAM = "FAULT-DRUG", "FAULT-EXAM"
TOKEN_KEY = "fault-token-key-" + "x" * 32  # development only: the served process gets it
PASSWORD = "fault run password, development only"
CREDITED, INTERRUPTED, PAID_IN_LOAD = Month(2024, 1), Month(2024, 2), Month(2024, 3)
OUTPATIENT_DEDUCTIBLE_FEN, OUTPATIENT_CAP_FEN = 10_000, 50_000  # 100 and 500 yuan a year
POOLED = {
    "employee": {
        "outpatient": {"deductible": OUTPATIENT_DEDUCTIBLE_FEN // 100,
                       "ratio": {"1": 0.70, "2": 0.60, "3": 0.50},
                       "annual_cap": OUTPATIENT_CAP_FEN // 100},
        "inpatient": {"deductible": {"1": 300, "2": 600, "3": 900},
                      "ratio": {"1": 0.92, "2": 0.88, "3": 0.85}, "annual_cap": 300_000},
        "retiree_ratio_bonus": 0.05,
    }
}  # fmt: skip


@dataclass(frozen=True)
class Holder:
    person_id: int
    id_number: str
    card_no: str


@dataclass(frozen=True)
class City:
    holders: list[Holder]
    pos_token: str  # the pharmacy's API login
    admin_token: str
    gateways: dict[str, tuple[str, str]]  # institution code: (paasid, token)


def build_city(app: App, persons: int) -> City:
    area = yaml.safe_load((EXAMPLES / "05_spent_to_zero_then_refunded.yaml").read_text())["area"]
    for policy in area["policies"]:
        policy["pooled"] = POOLED
    with app.uow() as uow:
        registry.load_area(uow=uow, document=area)
        registry.add_institution(
            uow=uow, code=PHARMACY, name="Fault Pharmacy", kind="pharmacy", area_code=AREA
        )
        registry.add_institution(
            uow=uow, code=HOSPITAL, name="Fault Hospital", kind="hospital", area_code=AREA,
            level=2,
        )  # fmt: skip
        catalogue.load(
            uow=uow,
            area_code=AREA,
            from_month="2024-01",
            entries=catalogue.parse_csv(
                f"code,name,class,selfpay_prop\n{DRUG},Drug,A,0\n{EXAM},Exam,A,0\n"
            ),
        )
        policy = registry.policy_schedule(uow=uow, area_code=AREA)
        numbers = [
            IdNumber(make_id_number("420102", dt.date(1960 + i % 40, 1 + i % 12, 1 + i % 28), i))
            for i in range(persons)
        ]
        ids = list(
            uow.session.scalars(
                insert(Person).returning(Person.id),
                [
                    {
                        "id_number": n.value,
                        "name": f"F{i}",
                        "birth_date": n.birth_date,
                        "sex": n.sex,
                        "area_code": AREA,
                    }
                    for i, n in enumerate(numbers)
                ],
            )
        )
        uow.session.execute(
            insert(Enrollment),
            [
                {
                    "person_id": pid,
                    "area_code": AREA,
                    "scheme": "employee",
                    "starts_on": dt.date(2024, 1, 1),
                }
                for pid in ids
            ],
        )
        rows = []
        for month, received in (
            (CREDITED, dt.date(2024, 1, 10)),
            (INTERRUPTED, dt.date(2024, 2, 10)),
        ):
            for i, (pid, number) in enumerate(zip(ids, numbers, strict=True)):
                base = 400_000 + 100 * i
                credit = credit_for(
                    MedicalContribution(month, Scheme.EMPLOYEE, base),
                    policy.for_month(month),
                    number.birth_date,
                )
                rows.append(
                    {"key": f"city:{month}:{pid}", "person_id": pid, "area_code": AREA,
                     "month": str(month), "through_month": str(month), "received_on": received,
                     "scheme": "employee", "base_fen": base, "insurances": "medical",
                     "medical_employer_fen": 0, "medical_person_fen": 0, "credit_fen": credit}
                )  # fmt: skip
        uow.session.execute(insert(Contribution), rows)
        uow.session.execute(
            text(
                "INSERT INTO card (card_no, person_id, status, issued_on, medical_activated_on, "
                "pin_hash, failed_pin_tries) SELECT 'F' || lpad(p.id::text, 10, '0'), p.id, "
                "'active', :day, :day, NULL, 0 FROM person p"
            ),
            {"day": dt.date(2024, 1, 1)},
        )
        uow.session.execute(  # each hashed as the service hashes it (the card's number its salt)
            text("UPDATE card SET pin_hash = :pin_hash WHERE card_no = :card_no"),
            [{"card_no": f"F{pid:010d}", "pin_hash": cards.hash_pin(PIN, f"F{pid:010d}")}
             for pid in ids],
        )  # fmt: skip
    run_crediting(uow_factory=app.uow, area_code=AREA, month=CREDITED)
    holders = [Holder(pid, n.value, f"F{pid:010d}") for pid, n in zip(ids, numbers, strict=True)]
    with app.uow() as uow:
        gateways = {}
        for code in (PHARMACY, HOSPITAL):
            found = gateway.credentials(uow=uow, institution_code=code, rotate=False)
            gateways[code] = (found.paasid, found.token)
    return City(holders, _token(app, "fault-pos", "institution", PHARMACY),
                _token(app, "fault-admin", "admin", None), gateways)  # fmt: skip


def _token(app: App, name: str, role: str, scope: str | None) -> str:
    with app.uow() as uow:
        try:
            user = accounts.user_by_name(uow=uow, name=name)
        except UnknownUser:
            user = accounts.add_user(uow=uow, name=name, role=role, password=PASSWORD, scope=scope)
        return issue_token(uow=uow, user=user, secret=TOKEN_KEY, seconds=4 * 3600).access_token
