"""The yearly statement from a replayed story, on both backends, and its PDF read back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from sqlalchemy import Engine

from tests.scenario_files import EXAMPLES
from yibao.adapters.pdf import render_statement
from yibao.bootstrap import App
from yibao.domain.idnumber import mask
from yibao.scenario.model import load_scenario
from yibao.scenario.replay import replay
from yibao.services.inquiry.statements import statement_file_name, write_statements, year_statement

XU = "420111197208195375"  # example 05: credited 960.00, spent to zero, 400.00 refunded


@pytest.fixture
def story(engine: Engine) -> App:
    replay(load_scenario(EXAMPLES / "05_spent_to_zero_then_refunded.yaml"), engine)
    return App(engine)


def test_the_statement_shows_the_years_credits_spending_refund_and_balance(story: App) -> None:
    with story.uow() as uow:
        statement = year_statement(uow=uow, year=2021, id_number=XU)
    assert statement.opening_balance_fen == 0
    assert statement.closing_balance_fen == 40_000
    assert statement.masked_id == "4201**********5375"
    totals = statement.totals
    assert totals.credited_fen == 96_000
    assert totals.spent_fen == 96_000
    assert totals.refunds_fen == 40_000
    april = statement.rows[3]
    assert april.balance_end_fen == 40_000
    assert [len(row.contributions) for row in statement.rows[:4]] == [1, 1, 1, 0]


def test_the_pdf_renders_to_an_image_and_carries_the_key_figures(story: App) -> None:
    with story.uow() as uow:
        statement = year_statement(uow=uow, year=2021, id_number=XU)
    document = pdfium.PdfDocument(render_statement(statement))
    try:
        page = document[0]
        image = page.render(scale=1).to_pil().convert("L")
        text = page.get_textpage().get_text_range()
    finally:
        document.close()
    dark = sum(image.histogram()[:128])
    assert dark > 1_000  # lines, figures and the chart were drawn
    for figure in ("2021", "400.00", "960.00", "4201**********5375", "Xu Qiang"):
        assert figure in text
    assert XU not in text


def test_statements_for_a_whole_area_are_one_pdf_per_person(story: App, tmp_path: Path) -> None:
    progress: list[tuple[int, int]] = []
    written = write_statements(
        uow_factory=story.uow,
        area_code="420100",
        year=2021,
        out_dir=tmp_path,
        issued_on=dt.date(2022, 1, 5),
        progress=lambda done, total: progress.append((done, total)),
    )
    assert written == 1
    assert progress[-1] == (1, 1)
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == [statement_file_name(mask(XU), 2021)]
    assert files[0].name == "4201xxxxxxxxxx5375-2021.pdf"
    assert files[0].read_bytes().startswith(b"%PDF")
