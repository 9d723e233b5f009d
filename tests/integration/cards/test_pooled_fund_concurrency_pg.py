"""32 bills of one patient at once on PostgreSQL, near the deductible and near the cap.

Half are shown with the patient's card and PIN and paid from the patient's account, half with
the patient's e-voucher and paid by a bound family member's account: two different account
locks, one patient.

The patient's pooled usage row is locked first, so however the bills interleave
the deductible is used once and the fund never pays past the cap.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from tests.integration.cards.cardholders import DAY, cardholder, ledger_problems, medical_balance
from tests.integration.cards.hospital import bill, enroll, evoucher, hospital_city
from yibao.adapters.tables import LedgerTransfer, Person, PooledUsage, Settlement
from yibao.bootstrap import App
from yibao.services.cards import family
from yibao.services.settlement import ElectronicCard, Receipt

THREADS = 32
OPENING_FEN = 50_000


@pytest.fixture
def patient_and_payer(pg_app: App) -> tuple[Person, Person]:
    hospital_city(pg_app)
    patient = cardholder(pg_app, 1, "C1", fen=OPENING_FEN)
    payer = cardholder(pg_app, 2, "C2", fen=OPENING_FEN)
    for person in (patient, payer):
        enroll(pg_app, person, "flexible")
    with pg_app.uow() as uow:
        family.bind(
            uow=uow,
            id_number=payer.id_number,
            member_id_number=patient.id_number,
            relation="spouse",
            on=DAY,
        )
    return patient, payer


def _race(
    app: App, patient: Person, payer: Person, present: Callable[..., Receipt]
) -> list[Receipt]:
    """Each thread presents one bill: even threads the card, odd ones an e-voucher + payer."""
    tokens = {n: evoucher(app, patient) for n in range(1, THREADS, 2)}
    barrier = threading.Barrier(THREADS)
    receipts: list[Receipt] = []
    failures: list[BaseException] = []
    run = uuid.uuid4().hex[:6]

    def work(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            credential: str | ElectronicCard = "C1" if n % 2 == 0 else tokens[n]
            receipts.append(present(credential, f"{run}-{n}", payer=None if n % 2 == 0 else payer))
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert failures == []
    assert len(receipts) == THREADS
    return receipts


def _fund_posted(app: App) -> int:
    with app.uow() as uow:
        return int(
            uow.session.scalar(
                select(func.coalesce(func.sum(LedgerTransfer.amount_fen), 0)).where(
                    LedgerTransfer.kind == "fund_settlement"
                )
            )
        )


def _account_checks(
    app: App, patient: Person, payer: Person, receipts: list[Receipt], earlier: Receipt
) -> None:
    """No account paid more than it held, and what left them is what the receipts say."""
    paid = sum(r.personal_fen for r in receipts) + earlier.personal_fen
    left = medical_balance(app, patient) + medical_balance(app, payer)
    assert medical_balance(app, patient) >= 0
    assert medical_balance(app, payer) >= 0
    assert 2 * OPENING_FEN - left == paid
    assert ledger_problems(app) == []


def test_racing_bills_near_the_deductible_use_it_once(
    pg_app: App, patient_and_payer: tuple[Person, Person]
) -> None:
    patient, payer = patient_and_payer
    before = bill(pg_app, "C1", "BEFORE", 19_000)  # 190 of the 200 yuan deductible: 10 left

    receipts = _race(
        pg_app, patient, payer, lambda c, ref, payer: bill(pg_app, c, ref, 1_000, payer=payer)
    )

    deductibles = sorted(r.deductible_fen for r in receipts)
    assert deductibles == [0] * (THREADS - 1) + [1_000]  # exactly one bill took what was left
    assert sum(r.fund_fen for r in receipts) == (THREADS - 1) * 700
    assert _fund_posted(pg_app) == (THREADS - 1) * 700
    with pg_app.uow() as uow:
        usage = uow.session.get(PooledUsage, (patient.id, DAY.year))
        assert usage is not None
        assert usage.outpatient_eligible_fen == 19_000 + THREADS * 1_000
    _account_checks(pg_app, patient, payer, receipts, before)


def test_racing_bills_near_the_cap_never_take_the_fund_past_it(
    pg_app: App, patient_and_payer: tuple[Person, Person]
) -> None:
    patient, payer = patient_and_payer
    before = bill(pg_app, "C1", "BEFORE", 410_000, institution="H003")  # 0.5 x 3900
    assert before.fund_fen == 195_000  # 50 yuan left under the 2000 yuan outpatient cap

    receipts = _race(
        pg_app,
        patient,
        payer,
        lambda c, ref, payer: bill(pg_app, c, ref, 20_000, institution="H003", payer=payer),
    )

    funds = sorted(r.fund_fen for r in receipts)
    assert funds == [0] * (THREADS - 1) + [5_000]  # 100 yuan x 0.5, capped at the 50 left
    assert _fund_posted(pg_app) == 200_000  # the cap, exactly
    with pg_app.uow() as uow:
        by_patient = uow.session.scalar(
            select(func.sum(Settlement.fund_fen)).where(Settlement.patient_person_id == patient.id)
        )
    assert by_patient == 200_000
    _account_checks(pg_app, patient, payer, receipts, before)
