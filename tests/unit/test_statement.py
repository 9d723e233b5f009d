"""The yearly statement's figures, computed from plain records (no database)."""

from __future__ import annotations

import datetime as dt

import pypdfium2 as pdfium
import pytest

from yibao.adapters.pdf import render_statement
from yibao.domain.errors import InvalidInput
from yibao.domain.months import Month
from yibao.domain.statement import AccountMovement, ContributionPaid, year_statement_from


def _paid(month: int, credit: int = 30_000) -> ContributionPaid:
    return ContributionPaid(
        Month(2021, month),
        Month(2021, month),
        dt.date(2021, month, 20),
        ("medical", "pension"),
        1_000_000,
        80_000,
        20_000,
        credit,
    )


def test_the_statement_runs_from_opening_to_closing_balance_month_by_month() -> None:
    statement = year_statement_from(
        person_name="Zhao Lei",
        id_number="420102198004010058",
        area_code="420100",
        area_name="Example City",
        year=2021,
        issued_on=dt.date(2022, 1, 5),
        opening_balance_fen=5_000,
        movements=[
            AccountMovement(dt.date(2021, 1, 31), "crediting", 30_000),
            AccountMovement(dt.date(2021, 2, 28), "crediting", 30_000),
            AccountMovement(dt.date(2021, 4, 2), "settlement", -35_000),
            AccountMovement(dt.date(2021, 4, 10), "family_settlement", -10_000),
            AccountMovement(dt.date(2021, 4, 12), "reversal:settlement", 35_000),
        ],
        contributions=[_paid(1), _paid(2)],
    )
    assert statement.opening_balance_fen == 5_000
    assert statement.closing_balance_fen == 55_000
    assert statement.masked_id == "4201**********0058"
    april = statement.rows[3]
    assert (april.spent_fen, april.family_aid_fen, april.refunds_fen) == (35_000, 10_000, 35_000)
    assert april.balance_end_fen == 55_000
    totals = statement.totals
    assert totals.credited_fen == 60_000
    assert totals.medical_fen == 200_000
    assert statement.balances_fen[0] == 5_000
    assert len(statement.balances_fen) == 13


def test_a_movement_outside_the_year_is_refused() -> None:
    with pytest.raises(InvalidInput):
        year_statement_from(
            person_name="Zhao Lei",
            id_number="420102198004010058",
            area_code="420100",
            area_name="Example City",
            year=2021,
            issued_on=dt.date(2022, 1, 5),
            opening_balance_fen=0,
            movements=[AccountMovement(dt.date(2022, 1, 31), "crediting", 1)],
            contributions=[],
        )


def test_a_name_the_font_cannot_draw_is_replaced_by_a_note_not_left_blank() -> None:
    statement = year_statement_from(
        person_name="王𠮷",  # U+20BB7, outside the embedded font
        id_number="420102198004010058",
        area_code="420100",
        area_name="武汉市",
        year=2021,
        issued_on=dt.date(2022, 1, 5),
        opening_balance_fen=0,
        movements=[],
        contributions=[],
    )
    document = pdfium.PdfDocument(render_statement(statement))
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    assert "以证件号为准" in text
    assert "𠮷" not in text
    assert "武汉市" in text
