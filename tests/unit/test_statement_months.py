"""The yearly statement's months: back pay under the month it paid for, a resident's year
covering its months, a retiree's months not unpaid, files named by masked ID and year."""

from __future__ import annotations

import datetime as dt

from yibao.domain.months import Month
from yibao.domain.statement import ContributionPaid, year_statement_from
from yibao.services.inquiry.statements import statement_file_name

NUMBER = "420102199003071232"


def _paid(month: str, through: str, received: dt.date) -> ContributionPaid:
    return ContributionPaid(
        Month.parse(month), Month.parse(through), received, ("medical",), 800_000, 0, 16_000, 16_000
    )


def _statement(**extra: object) -> object:
    return year_statement_from(
        person_name="Zhang San",
        id_number=NUMBER,
        area_code="420100",
        area_name="Wuhan",
        year=2024,
        issued_on=dt.date(2025, 1, 5),
        opening_balance_fen=0,
        movements=(),
        **extra,  # type: ignore[arg-type]
    )


def test_back_pay_sits_under_the_month_it_paid_for() -> None:
    statement = _statement(contributions=[_paid("2024-03", "2024-03", dt.date(2024, 9, 12))])
    rows = statement.rows  # type: ignore[attr-defined]
    assert rows[2].contributions[0].received_on == dt.date(2024, 9, 12)
    assert rows[8].contributions == ()


def test_a_payment_for_several_months_covers_each_of_them() -> None:
    statement = _statement(
        contributions=[_paid("2023-07", "2024-06", dt.date(2023, 7, 1))]  # a resident's year
    )
    rows = statement.rows  # type: ignore[attr-defined]
    assert [row.covered_by for row in rows[:6]] == [Month.parse("2023-07")] * 6
    assert rows[6].covered_by is None


def test_a_retirees_months_are_not_unpaid() -> None:
    months = [Month(2024, m) for m in range(4, 13)]
    statement = _statement(contributions=(), retiree_months=months)
    rows = statement.rows  # type: ignore[attr-defined]
    assert [row.retired for row in rows] == [False] * 3 + [True] * 9


def test_statement_files_are_named_by_masked_id_and_year_without_collisions() -> None:
    taken: set[str] = set()
    first = statement_file_name("4201**********1232", 2024, taken)
    second = statement_file_name("4201**********1232", 2024, taken)
    assert first == "4201xxxxxxxxxx1232-2024.pdf"
    assert second == "4201xxxxxxxxxx1232-2024-2.pdf"
    assert NUMBER not in first


def test_the_pdf_says_a_retirees_month_needs_no_payment() -> None:
    import pypdfium2 as pdfium

    from yibao.adapters.pdf import render_statement

    statement = _statement(contributions=(), retiree_months=[Month(2024, 5)])
    document = pdfium.PdfDocument(render_statement(statement))  # type: ignore[arg-type]
    text = "".join(page.get_textpage().get_text_range() for page in document)
    assert text.count("退休，无需缴费") == 1
    assert text.count("未缴费") == 11
