"""Year statements against the ledger, on SQLite and PostgreSQL: crediting runs, own spending,
family aid and a refund, a balance carried over from the year before, and whole-area batches."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from yibao.adapters.pdf import render_statement
from yibao.bootstrap import App
from yibao.demo import area_document
from yibao.domain.idnumber import make_id_number, mask
from yibao.domain.money import fen_to_yuan
from yibao.domain.months import Month
from yibao.domain.statement import YearStatement
from yibao.ledger import accounts
from yibao.services import registry
from yibao.services.contributions import ContributionCmd, record_contribution
from yibao.services.contributions.crediting import run_crediting
from yibao.services.inquiry.statements import write_statements, year_statement

AREA = "420100"
WORKER = "420102199003071232"  # born 1990: under 35, both policies credit the 2% share
RELATIVE = make_id_number("420102", dt.date(1965, 5, 5), 1)
RESIDENT = make_id_number("420102", dt.date(2000, 1, 1), 2)
BASE_FEN = 1_000_000  # 10,000 yuan a month
MONTH_CREDIT = 20_000  # the employee's 2% of the base, after the 2023-02 reform
ALL_FIVE = ("pension", "medical", "unemployment", "injury", "maternity")


def _record(app: App, month: Month, received_on: dt.date, insurances: tuple[str, ...]) -> None:
    cmd = ContributionCmd(
        id_number=WORKER,
        received_on=received_on,
        insurances=insurances,
        month=month,
        base_fen=BASE_FEN,
    )
    with app.uow() as uow:
        record_contribution(uow=uow, cmd=cmd)


def _spend(app: App, key: str, day: dt.date, fen: int, kind: str) -> None:
    with app.uow() as uow:
        person = registry.person_by_id_number(uow=uow, id_number=WORKER)
        uow.ledger.transfer(
            key=key,
            debit=accounts.personal_account(AREA, person.id),
            credit=accounts.institution_payable(AREA, "P0001"),
            amount_fen=fen,
            value_date=day,
            kind=kind,
            memo=f"P0001 {key}",
        )


@pytest.fixture
def city(app: App) -> App:
    """A worker paid and credited from 2023-11 to 2024-11 (2024-06: pension only, medical
    paid back in July), who spends, pays for a relative and gets a refund; a resident."""
    with app.uow() as uow:
        registry.load_area(uow=uow, document=area_document(AREA))
        registry.add_employer(uow=uow, code="E001", name="Example Co.", area_code=AREA)
        for id_number, name in ((WORKER, "张伟"), (RELATIVE, "张建国"), (RESIDENT, "李娜")):
            registry.add_person(uow=uow, id_number=id_number, name=name, area_code=AREA)
        registry.register_employee(
            uow=uow, id_number=WORKER, employer_code="E001", on=dt.date(2023, 10, 20)
        )
        registry.enroll(uow=uow, id_number=RESIDENT, scheme="resident", on=dt.date(2023, 1, 1))
    spends = {  # in date order: no spend is dated before a posting on the account
        Month(2023, 12): [("s1", dt.date(2023, 12, 20), 5_000, "settlement")],  # before the year
        Month(2024, 3): [("s2", dt.date(2024, 3, 8), 12_345, "settlement")],
        Month(2024, 5): [("f1", dt.date(2024, 5, 6), 30_000, "family_settlement")],
        Month(2024, 9): [("s3", dt.date(2024, 9, 1), 8_000, "settlement")],
    }
    for index in range(13):
        month = Month(2023, 11).plus(index)
        received = month.first_day.replace(day=15)
        if month == Month(2024, 6):
            _record(app, month, received, ("pension",))
        else:
            _record(app, month, received, ALL_FIVE)
        if month == Month(2024, 7):
            _record(app, Month(2024, 6), received, ("medical",))  # back pay for June
        for key, day, fen, kind in spends.get(month, []):
            _spend(app, key, day, fen, kind)
        if month == Month(2024, 9):
            with app.uow() as uow:
                uow.ledger.reverse(
                    original_key="s3", key="refund:s3", value_date=dt.date(2024, 9, 3)
                )
        run_crediting(uow_factory=app.uow, area_code=AREA, month=month)
    return app


def _statement(app: App, id_number: str) -> YearStatement:
    with app.uow() as uow:
        return year_statement(
            uow=uow, year=2024, id_number=id_number, issued_on=dt.date(2025, 1, 6)
        )


def test_the_statement_matches_the_ledger_at_both_ends_of_the_year(city: App) -> None:
    statement = _statement(city, WORKER)
    with city.uow() as uow:
        person = registry.person_by_id_number(uow=uow, id_number=WORKER)
        account = accounts.personal_account(AREA, person.id)
        assert statement.opening_balance_fen == uow.ledger.balance_of(
            account, dt.date(2023, 12, 31)
        )
        assert statement.closing_balance_fen == uow.ledger.balance_of(
            account, dt.date(2024, 12, 31)
        )
    assert statement.opening_balance_fen == 2 * MONTH_CREDIT - 5_000
    assert statement.closing_balance_fen == (
        statement.opening_balance_fen + 11 * MONTH_CREDIT - 12_345 - 30_000
    )


def test_each_month_row_holds_its_credits_spending_family_aid_and_refunds(city: App) -> None:
    rows = _statement(city, WORKER).rows
    # June paid pension only; its medical part, paid back in July, is credited in July
    credits = [MONTH_CREDIT] * 5 + [0, 2 * MONTH_CREDIT] + [MONTH_CREDIT] * 4 + [0]
    assert [row.credited_fen for row in rows] == credits
    march, may, september = rows[2], rows[4], rows[8]
    assert (march.spent_fen, march.family_aid_fen, march.refunds_fen) == (12_345, 0, 0)
    assert (may.spent_fen, may.family_aid_fen) == (0, 30_000)
    assert (september.spent_fen, september.refunds_fen) == (8_000, 8_000)
    assert all(row.other_fen == 0 for row in rows)
    balance = _statement(city, WORKER).opening_balance_fen
    for row in rows:
        balance += row.net_fen
        assert row.balance_end_fen == balance


def test_contributions_are_listed_under_the_month_they_pay_for(city: App) -> None:
    rows = _statement(city, WORKER).rows
    june = rows[5].contributions
    assert [c.insurances for c in june] == [("pension",), ("medical",)]
    assert june[1].received_on == dt.date(2024, 7, 15)  # back pay, received in July
    assert june[1].medical_person_fen == 2 * BASE_FEN // 100
    assert len(rows[11].contributions) == 0  # December: nothing paid yet
    assert all(c.base_fen == BASE_FEN for row in rows for c in row.contributions)


def test_a_resident_gets_a_statement_that_says_there_is_no_personal_account(city: App) -> None:
    statement = _statement(city, RESIDENT)
    assert not statement.has_personal_account
    assert statement.opening_balance_fen == statement.closing_balance_fen == 0


def test_an_area_is_written_in_batches_one_file_per_person_without_id_numbers(
    city: App, tmp_path: Path
) -> None:
    seen: list[tuple[int, int]] = []
    written = write_statements(
        uow_factory=city.uow,
        area_code=AREA,
        year=2024,
        out_dir=tmp_path,
        batch_size=2,
        issued_on=dt.date(2025, 1, 6),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert written == 3
    assert seen == [(2, 3), (3, 3)]
    names = {n: f"{mask(n).replace('*', 'x')}-2024.pdf" for n in (WORKER, RELATIVE, RESIDENT)}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names.values())
    worker_pdf = tmp_path / names[WORKER]
    document = pdfium.PdfDocument(worker_pdf.read_bytes())
    try:
        page = document[0]
        text = page.get_textpage().get_text_range()
        dark = sum(page.render(scale=1).to_pil().convert("L").histogram()[:128])
    finally:
        document.close()
    assert dark > 1_000
    closing = _statement(city, WORKER).closing_balance_fen
    for shown in (fen_to_yuan(closing), "2024", "4201**********1232", "张伟"):
        assert shown in text
    assert WORKER not in text


def _box_of(page: pdfium.PdfPage, shown: str, scale: float) -> tuple[int, ...]:
    """Where the PDF places `shown`, in pixels of the page rendered at `scale`."""
    textpage = page.get_textpage()
    hit = textpage.search(shown).get_next()
    assert hit is not None, f"{shown} is not in the PDF's text"
    first, count = hit
    boxes = [textpage.get_charbox(i, loose=True) for i in range(first, first + count)]
    left, right = min(b[0] for b in boxes), max(b[2] for b in boxes)
    bottom, top = min(b[1] for b in boxes), max(b[3] for b in boxes)
    height = page.get_height()
    return tuple(round(v * scale) for v in (left, height - top, right, height - bottom))


def test_the_chinese_title_labels_and_name_are_drawn_in_an_embedded_font(city: App) -> None:
    pdf = render_statement(_statement(city, WORKER))
    assert b"/FontFile2" in pdf  # the TrueType font travels in the file, not left to the reader
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        image = page.render(scale=2).to_pil().convert("L")
        for shown in ("医保个人账户年度对账单", "证件号码", "姓名", "张伟", "月末余额", "合计"):
            # where the reader lacks the font, pdfium draws nothing there: not one dark pixel
            dark = sum(image.crop(_box_of(page, shown, 2)).histogram()[:128])
            assert dark > 20 * len(shown), shown
    finally:
        document.close()
