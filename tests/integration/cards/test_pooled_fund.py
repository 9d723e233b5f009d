"""The pooled fund pays its share of a bill at a hospital or clinic, on SQLite and PostgreSQL:
the split, the year's deductible and caps, refunds, the national codes, the ledger check."""

from __future__ import annotations

import datetime as dt

import pypdfium2 as pdfium
import pytest
from sqlalchemy import select, text, update

from tests.integration.cards.cardholders import (
    AREA,
    DAY,
    add_person,
    area_document,
    cardholder,
    credit,
    ledger_problems,
    medical_balance,
)
from tests.integration.cards.hospital import (
    POOLED,
    bill,
    enroll,
    hospital_city,
    parts,
    pay_resident_year,
)
from yibao.adapters.pdf import render_statement
from yibao.adapters.tables import PooledUsage, Settlement
from yibao.bootstrap import App
from yibao.domain.errors import InvalidInput
from yibao.domain.money import fen_to_yuan
from yibao.domain.pooled import Visit
from yibao.ledger import accounts
from yibao.services import registry, settlement
from yibao.services.inquiry.statements import year_statement
from yibao.services.settlement import institution_settlement


@pytest.fixture
def hospital(app: App) -> App:
    hospital_city(app)
    return app


def pool_balance(app: App) -> int:
    with app.uow() as uow:
        return uow.ledger.balance_of(accounts.pooled_fund(AREA))


def refund(app: App, ref: str, on: dt.date = DAY) -> settlement.Receipt:
    with app.uow() as uow:
        return settlement.refund(uow=uow, ref=ref, on=on)


def scenario_07_stay(app: App) -> settlement.Receipt:
    """Card C1's stay IP-1 at the level-3 hospital: 9,000.00 within the catalogue, 1,000.00
    outside it."""
    return bill(
        app, "C1", "IP-1", 900_000, outside_fen=100_000, institution="H003",
        visit=Visit.INPATIENT,
    )  # fmt: skip


def test_a_hospital_stay_is_paid_by_the_fund_the_account_and_the_person(hospital: App) -> None:
    person = cardholder(hospital, 1, "C1", fen=48_000)
    enroll(hospital, person, "flexible")
    before = pool_balance(hospital)

    receipt = scenario_07_stay(hospital)

    assert parts(receipt) == (688_500, 48_000, 263_500)  # scenario 07's stay
    assert (receipt.deductible_fen, receipt.ratio, receipt.visit) == (90_000, "0.85", "inpatient")
    assert receipt.balance_after_fen == 0
    assert pool_balance(hospital) == before - 688_500
    with hospital.uow() as uow:
        payable = uow.ledger.balance_of(accounts.institution_payable(AREA, "H003"))
    assert payable == 688_500 + 48_000
    assert ledger_problems(hospital) == []


def test_the_outpatient_deductible_is_used_across_bills_and_starts_again_each_year(
    hospital: App,
) -> None:
    person = cardholder(hospital, 1, "C1")
    enroll(hospital, person, "flexible")
    year_end, new_year = dt.date(2024, 12, 30), dt.date(2025, 1, 2)

    first = bill(hospital, "C1", "OP-1", 15_000, on=year_end)
    second = bill(hospital, "C1", "OP-2", 10_000, on=year_end)
    third = bill(hospital, "C1", "OP-3", 10_000, on=new_year)

    assert (first.fund_fen, first.deductible_fen) == (0, 15_000)
    assert (second.fund_fen, second.deductible_fen) == (3_500, 5_000)  # 50 left; 50 x 0.70
    assert (third.fund_fen, third.deductible_fen) == (0, 10_000)  # a new year's deductible
    assert ledger_problems(hospital) == []


def test_the_level_of_the_hospital_sets_the_ratio(hospital: App) -> None:
    person = cardholder(hospital, 1, "C1")
    enroll(hospital, person, "flexible")
    level_1 = bill(hospital, "C1", "IP-1", 130_000, visit=Visit.INPATIENT)  # (1300-300) x 0.92
    level_3 = bill(hospital, "C1", "IP-3", 190_000, institution="H003", visit=Visit.INPATIENT)
    assert (level_1.fund_fen, level_1.ratio) == (92_000, "0.92")
    assert (level_3.fund_fen, level_3.ratio) == (85_000, "0.85")  # (1900-900) x 0.85


def test_the_cap_is_reached_inside_one_bill_and_a_refund_frees_it(hospital: App) -> None:
    person = cardholder(hospital, 1, "C1")
    enroll(hospital, person, "flexible")
    before = pool_balance(hospital)

    big = bill(hospital, "C1", "OP-BIG", 1_000_000)  # 0.70 x 9800 is above the 2000 cap
    capped = bill(hospital, "C1", "OP-NEXT", 10_000)
    assert big.fund_fen == 200_000
    assert capped.fund_fen == 0
    assert parts(big) == (200_000, 0, 800_000)

    back = refund(hospital, "OP-BIG")
    assert parts(back) == (200_000, 0, 800_000)  # all three parts go back
    assert pool_balance(hospital) == before
    again = bill(hospital, "C1", "OP-AGAIN", 10_000)  # OP-NEXT used 100 of the deductible
    assert (again.fund_fen, again.deductible_fen) == (0, 10_000)  # the refund freed the rest
    after_deductible = bill(hospital, "C1", "OP-LAST", 20_000)
    assert (after_deductible.fund_fen, after_deductible.deductible_fen) == (14_000, 0)
    assert ledger_problems(hospital) == []


def test_a_retiree_s_ratio_gets_the_bonus(hospital: App) -> None:
    person = cardholder(hospital, 1, "C1")
    enroll(hospital, person, "retiree")
    receipt = bill(hospital, "C1", "IP-1", 130_000, visit=Visit.INPATIENT)
    assert (receipt.fund_fen, receipt.ratio) == (97_000, "0.97")


def test_a_pooled_only_member_is_paid_for_a_stay_but_not_an_outpatient_visit(
    hospital: App,
) -> None:
    person = cardholder(hospital, 1, "C1")
    enroll(hospital, person, "pooled_only")
    assert bill(hospital, "C1", "OP-1", 50_000).fund_fen == 0
    assert bill(hospital, "C1", "IP-1", 130_000, visit=Visit.INPATIENT).fund_fen == 92_000


def test_a_resident_is_paid_for_only_once_the_year_s_contribution_is_in(hospital: App) -> None:
    person = cardholder(hospital, 1, "C1")
    enroll(hospital, person, "resident")
    unpaid = bill(hospital, "C1", "OP-1", 10_000)
    pay_resident_year(hospital, person, 2024)
    paid = bill(hospital, "C1", "OP-2", 10_000)
    assert parts(unpaid) == (0, 0, 10_000)
    assert parts(paid) == (5_000, 0, 5_000)


def test_a_pharmacy_purchase_and_a_person_without_scheme_get_nothing_from_the_fund(
    hospital: App,
) -> None:
    insured = cardholder(hospital, 1, "C1", fen=1_000)
    enroll(hospital, insured, "flexible")
    cardholder(hospital, 2, "C2")
    assert parts(bill(hospital, "C1", "RX-1", 4_550, institution="P001")) == (0, 1_000, 3_550)
    assert bill(hospital, "C2", "IP-1", 130_000, visit=Visit.INPATIENT).fund_fen == 0
    with pytest.raises(InvalidInput):
        bill(hospital, "C1", "RX-2", 100, institution="P001", visit=Visit.INPATIENT)


def test_each_settlement_record_carries_the_national_codes(hospital: App) -> None:
    worker = cardholder(hospital, 1, "C1")
    enroll(hospital, worker, "flexible")
    child = add_person(hospital, 2)
    with hospital.uow() as uow:  # a minor: born 2015
        uow.session.execute(
            text("UPDATE person SET birth_date = :born WHERE id = :id"),
            {"born": dt.date(2015, 6, 1), "id": child.id},
        )
    enroll(hospital, child, "resident")
    bill(hospital, "C1", "IP-1", 50_000, visit=Visit.INPATIENT)
    bill(hospital, "C1", "RX-1", 50_000, institution="P001")
    bill(hospital, child, "OP-1", 5_000)
    with hospital.uow() as uow:
        codes = uow.session.execute(
            select(
                Settlement.ref, Settlement.insutype, Settlement.psn_type, Settlement.med_type,
                Settlement.clr_type,
            ).order_by(Settlement.ref)
        ).all()  # fmt: skip
    assert [tuple(row) for row in codes] == [
        ("IP-1", "310", "1103", "21", "21"),
        ("OP-1", "390", "1401", "11", "11"),
        ("RX-1", "310", "1103", "41", "41"),
    ]


def test_a_retry_returns_the_first_receipt_and_uses_the_deductible_once(hospital: App) -> None:
    person = cardholder(hospital, 1, "C1")
    enroll(hospital, person, "flexible")
    first = bill(hospital, "C1", "OP-1", 30_000)
    again = bill(hospital, "C1", "OP-1", 30_000)
    assert parts(again) == parts(first) == (7_000, 0, 23_000)
    assert bill(hospital, "C1", "OP-2", 10_000).fund_fen == 7_000  # deductible used once
    assert ledger_problems(hospital) == []


def test_the_daily_statement_and_clearing_include_the_fund_s_part(hospital: App) -> None:
    person = cardholder(hospital, 1, "C1", fen=10_000)
    enroll(hospital, person, "flexible")
    bill(hospital, "C1", "IP-1", 130_000, visit=Visit.INPATIENT)  # fund 920, account 100
    bill(hospital, "C1", "IP-2", 130_000, visit=Visit.INPATIENT)  # fund 920
    refund(hospital, "IP-2")
    with hospital.uow() as uow:
        day = institution_settlement.daily_statement(uow=uow, institution_code="H001", day=DAY)
        cleared = institution_settlement.clear_institution(
            uow=uow, institution_code="H001", day=DAY
        )
    assert (day.fund_fen, day.personal_fen, day.refunded_fund_fen) == (184_000, 10_000, 92_000)
    assert day.reconciled
    assert cleared == 92_000 + 10_000
    assert ledger_problems(hospital) == []


def test_the_ledger_check_finds_usage_that_is_not_what_the_settlements_say(
    hospital: App,
) -> None:
    person = cardholder(hospital, 1, "C1")
    enroll(hospital, person, "flexible")
    bill(hospital, "C1", "OP-1", 30_000)
    with hospital.uow() as uow:
        uow.session.execute(
            update(PooledUsage).values(
                outpatient_eligible_fen=PooledUsage.outpatient_eligible_fen - 1
            )
        )
    problems = ledger_problems(hospital)
    assert [p.invariant for p in problems] == ["pooled_usage_matches"]
    assert "(29999, 7000, 0)" in problems[0].detail


def test_the_ledger_check_finds_a_fund_posting_that_differs_from_its_settlement(
    hospital: App,
) -> None:
    person = cardholder(hospital, 1, "C1")
    enroll(hospital, person, "flexible")
    bill(hospital, "C1", "OP-1", 30_000)
    with hospital.uow() as uow:
        uow.session.execute(update(Settlement).values(fund_fen=6_999, own_fen=23_001))
    invariants = {p.invariant for p in ledger_problems(hospital)}
    assert {"posting_matches_cause", "pooled_usage_matches"} <= invariants


def test_the_account_pays_after_the_fund_and_never_more_than_it_holds(hospital: App) -> None:
    person = cardholder(hospital, 1, "C1")
    credit(hospital, person, 100_000)
    enroll(hospital, person, "flexible")
    receipt = bill(hospital, "C1", "OP-1", 30_000, outside_fen=5_000)
    assert parts(receipt) == (7_000, 23_000, 5_000)  # the catalogue's rest; not the outside
    assert medical_balance(hospital, person) == 77_000


def test_the_fund_s_share_is_rounded_half_up_to_the_fen(hospital: App) -> None:
    """0.85 of 10 fen past the deductible is 8.5 fen: 9, on both backends (PostgreSQL's
    `post_settlement` rounds in SQL)."""
    person = cardholder(hospital, 1, "C1")
    enroll(hospital, person, "flexible")
    stay = bill(hospital, "C1", "IP-1", 90_010, institution="H003", visit=Visit.INPATIENT)
    again = bill(hospital, "C1", "IP-2", 90_030, institution="H003", visit=Visit.INPATIENT)
    assert (stay.deductible_fen, stay.fund_fen) == (90_000, 9)
    assert again.fund_fen == 26  # 25.5 fen
    assert ledger_problems(hospital) == []


def test_a_refund_gives_back_all_three_parts_and_frees_the_deductible(hospital: App) -> None:
    person = cardholder(hospital, 1, "C1", fen=48_000)
    enroll(hospital, person, "flexible")
    pool = pool_balance(hospital)
    stay = scenario_07_stay(hospital)
    assert all(part > 0 for part in parts(stay))

    back = refund(hospital, "IP-1")

    assert parts(back) == parts(stay)
    assert pool_balance(hospital) == pool
    assert medical_balance(hospital, person) == 48_000
    with hospital.uow() as uow:
        payable = uow.ledger.balance_of(accounts.institution_payable(AREA, "H003"))
        usage = uow.session.scalars(select(PooledUsage)).one()
    assert payable == 0
    assert (usage.outpatient_eligible_fen, usage.inpatient_fund_fen) == (0, 0)
    outpatient = bill(hospital, "C1", "OP-1", 30_000)  # the year's deductible is whole again
    assert (outpatient.deductible_fen, outpatient.fund_fen) == (20_000, 7_000)
    assert ledger_problems(hospital) == []


def test_the_yearly_statement_shows_what_the_fund_paid(hospital: App) -> None:
    person = cardholder(hospital, 1, "C1", fen=48_000)
    enroll(hospital, person, "flexible")
    stay = bill(
        hospital, "C1", "IP-1", 900_000, institution="H003", visit=Visit.INPATIENT
    )  # fmt: skip
    visit = bill(hospital, "C1", "OP-1", 30_000)

    with hospital.uow() as uow:
        statement = year_statement(uow=uow, year=DAY.year, id_number=person.id_number)
    document = pdfium.PdfDocument(render_statement(statement))
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()

    paid = stay.fund_fen + visit.fund_fen
    assert paid > 0
    assert statement.fund_paid_fen == paid
    assert fen_to_yuan(paid) in text


def test_a_bill_before_the_policy_with_the_pooled_block_gets_nothing_from_the_fund(
    app: App,
) -> None:
    """The fund pays under the policy of the bill's month: a month before the `pooled` block
    took effect has no fund's terms, and the bill is the account's and the person's. Its
    eligible part still uses up the year's outpatient deductible (FORMAT.md: the patient's
    earlier outpatient bills that year)."""
    area = area_document()
    without = {k: v for k, v in area["policies"][0].items() if k != "pooled"}
    area["policies"] = [without, {**without, "from": "2024-03", "pooled": POOLED}]
    with app.uow() as uow:
        registry.load_area(uow=uow, document=area)
        registry.add_employer(uow=uow, code="E001", name="Example Co.", area_code=AREA)
        registry.add_institution(
            uow=uow, code="H001", name="Example H001", kind="hospital", area_code=AREA, level=1
        )
    person = add_person(app, 1)
    enroll(app, person, "flexible", on=dt.date(2024, 1, 2))

    before = bill(app, person, "OP-FEB", 30_000, on=dt.date(2024, 2, 20))
    after = bill(app, person, "OP-MAR", 30_000, on=DAY)

    assert (before.fund_fen, before.deductible_fen, before.ratio) == (0, 0, "0")
    assert (after.fund_fen, after.deductible_fen, after.ratio) == (21_000, 0, "0.7")
    assert ledger_problems(app) == []
