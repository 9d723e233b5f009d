"""A year statement as a one-page A4 PDF (ReportLab), with Chinese text.

Chinese is drawn in WenQuanYi Micro Hei, embedded in the file so that the statement reads the
same in any PDF reader, with or without Chinese fonts of its own. The font comes from PyPI in the
`paperang-p2-fonts-cjk` wheel (byte for byte Debian's fonts-wqy-microhei 0.2.0-beta; the font is
Apache-2.0, or GPLv3 with the font exception). It is registered once per process and ReportLab
embeds only the glyphs a statement uses. Should the font be missing, Chinese falls back to
ReportLab's built-in CID font STSong-Light, which readers without Chinese fonts show blank.
A name is never transliterated: one the font cannot draw is replaced by a note to see the ID.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from yibao.adapters.pdf_layout import GREY, Column, Pen
from yibao.domain.money import fen_to_yuan
from yibao.domain.schemes import INSURANCE_TYPES
from yibao.domain.statement import ContributionPaid, MonthRow, YearStatement

CJK_FONT_NAME = "WenQuanYiMicroHei"
CID_FONT_NAME = "STSong-Light"  # referenced, not embedded: only where the font is missing
FALLBACK_FONT_NAME = "Helvetica"
WIDTH, HEIGHT = A4
MARGIN = 36.0
RIGHT = WIDTH - MARGIN
CHART_HEIGHT = 170.0
INSURANCE_ZH = dict(zip(INSURANCE_TYPES, ("养老", "医疗", "失业", "工伤", "生育"), strict=True))
INSURANCE_EN = dict(zip(INSURANCE_TYPES, ("pen", "med", "unemp", "inj", "mat"), strict=True))
LAW_ZH = (
    "依据《中华人民共和国社会保险法》第七十四条，社会保险经办机构定期将个人权益记录"
    "免费寄送本人。本对账单免费提供。"
)
LAW_EN = (
    "Social Insurance Law of the PRC, art. 74: the agency sends each person their record "
    "periodically, free of charge. This statement costs you nothing."
)
COLUMNS = (  # zh, en, relative width, align
    ("月份", "Month", 38, "left"),
    ("缴费险种", "Insurances paid", 100, "left"),
    ("缴费基数", "Base", 48, "right"),
    ("单位医保", "Employer", 46, "right"),
    ("个人医保", "Person", 44, "right"),
    ("划入", "Credited", 44, "right"),
    ("本人支出", "Spent", 44, "right"),
    ("家庭共济", "Family aid", 46, "right"),
    ("退款", "Refunds", 40, "right"),
)
OTHER_COLUMN = ("其他", "Other", 40, "right")
BALANCE_COLUMN = ("月末余额", "Balance", 54, "right")

Cell = str | int  # text, or an amount in fen


@dataclass(frozen=True, slots=True)
class _Font:
    name: str
    cjk: bool  # False: a standard font, WinAnsi-encoded
    code_points: frozenset[int] | None = None  # what an embedded font can draw

    def can_encode(self, text: str) -> bool:
        if self.code_points is not None:
            return all(ord(char) in self.code_points for char in text)
        if self.cjk:
            return True
        try:
            text.encode("cp1252")
        except UnicodeEncodeError:
            return False
        return True


def cjk_font_path() -> Path | None:
    """WenQuanYi Micro Hei from its PyPI package, if installed."""
    try:
        found = resources.files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc"
    except ModuleNotFoundError:
        return None
    path = Path(str(found))
    return path if path.is_file() else None


@functools.cache
def _registered_cjk_font(path: Path | None) -> _Font:
    """Register the Chinese font with ReportLab once per process."""
    if path is None:
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT_NAME))
        return _Font(CID_FONT_NAME, cjk=True)
    font = TTFont(CJK_FONT_NAME, str(path), subfontIndex=0)  # 0: Micro Hei, 1: its Mono
    pdfmetrics.registerFont(font)
    return _Font(CJK_FONT_NAME, cjk=True, code_points=frozenset(font.face.charToGlyph))


class StatementPdf:
    """Renders year statements; `chinese=False` uses Helvetica and English labels only."""

    def __init__(self, *, chinese: bool = True) -> None:
        if chinese:
            self.font = _registered_cjk_font(cjk_font_path())
        else:
            self.font = _Font(FALLBACK_FONT_NAME, cjk=False)

    def render(self, statement: YearStatement) -> bytes:
        buffer = io.BytesIO()
        canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1)
        canvas.setTitle(f"Medical insurance personal account statement {statement.year}")
        canvas.setAuthor("yibao")
        page = _Page(canvas, self.font, statement)
        y = page.header(HEIGHT - MARGIN)
        y = page.table(y - 16)
        page.chart(y - 22)
        page.footer()
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()


@functools.cache
def default_renderer() -> StatementPdf:
    return StatementPdf(chinese=True)


def render_statement(statement: YearStatement) -> bytes:
    """The statement as PDF bytes, in Chinese and English."""
    return default_renderer().render(statement)


def _insurance_order(insurance: str) -> int:
    """The usual order of the five insurances; any other name after them."""
    known = INSURANCE_TYPES.index(insurance) if insurance in INSURANCE_TYPES else None
    return len(INSURANCE_TYPES) if known is None else known


class _Page(Pen):
    def __init__(self, canvas: Canvas, font: _Font, statement: YearStatement) -> None:
        super().__init__(canvas, font.name)
        self.font, self.s = font, statement
        self.other = bool(statement.totals.other_fen)

    def label(self, zh: str, en: str) -> str:
        return f"{zh} {en}" if self.font.cjk else en

    def header(self, top: float) -> float:
        s = self.s
        self.text(MARGIN, top - 18, self.label("医保个人账户年度对账单", "Medical insurance"), 17)
        subtitle = f"Personal account statement {s.year}"
        subtitle += f" · {s.year}年度" if self.font.cjk else ""
        self.text(MARGIN, top - 34, subtitle, 10, color=GREY)
        self.text(RIGHT, top - 18, str(s.year), 17, align="right")
        self.text(MARGIN, top - 60, f"{self.label('证件号码', 'ID number')}  {s.masked_id}", 13)
        name = s.person_name
        if not self.font.can_encode(name):
            name = self.label("（本字体无法显示姓名，以证件号为准）", "(not printable: see ID)")
        self.text(MARGIN, top - 78, f"{self.label('姓名', 'Name')}  {name}", 11)
        area = f"{s.area_code} {s.area_name}" if self.font.can_encode(s.area_name) else s.area_code
        self.text(MARGIN, top - 94, f"{self.label('统筹区', 'Planning area')}  {area}", 9)
        period = f"{self.label('对账期间', 'Period')}  {s.year}-01-01 – {s.year}-12-31"
        self.text(MARGIN, top - 108, period, 9)
        issued = f"{self.label('出具日期', 'Issued')}  {s.issued_on.isoformat()}"
        self.text(MARGIN + 250, top - 108, issued, 9)
        if not s.has_personal_account:
            note = self.label("本年度无个人账户（如居民医保）", "No personal account this year")
            self.text(MARGIN, top - 122, note, 9, color=GREY)
        fund = self.label("统筹基金为您支付", "Pooled fund paid for you")
        self.text(MARGIN + 250, top - 122, f"{fund}  {fen_to_yuan(s.fund_paid_fen)}", 9)
        opening = self.label("期初余额", "Opening balance")
        self.balance_box(MARGIN + 300, top - 96, opening, s.year - 1, s.opening_balance_fen)
        closing = self.label("期末余额", "Closing balance")
        self.balance_box(MARGIN + 410, top - 96, closing, s.year, s.closing_balance_fen)
        return top - 132

    def balance_box(self, x: float, y: float, title: str, year: int, fen: int) -> None:
        self.c.setStrokeColor(GREY)
        self.c.setLineWidth(0.8)
        self.c.roundRect(x, y, 103, 46, 4, stroke=1, fill=0)
        self.text(x + 6, y + 34, title, 8, width=92, color=GREY)
        self.text(x + 97, y + 16, fen_to_yuan(fen), 14, align="right", width=90)
        self.text(x + 6, y + 5, f"{year}-12-31 · {self.label('元', 'yuan')}", 7, color=GREY)

    def table(self, top: float) -> float:
        spec = [*COLUMNS, *([OTHER_COLUMN] if self.other else []), BALANCE_COLUMN]
        columns = Column.laid_out(spec, MARGIN, RIGHT - MARGIN, chinese=self.font.cjk)
        for c in columns:
            self.text(c.anchor, top, c.title, 7.5, align=c.align, width=c.width)
            self.text(c.anchor, top - 9, c.subtitle, 6, align=c.align, width=c.width, color=GREY)
        self.rule(MARGIN, RIGHT, top - 13, 0.8)
        y = top - 23
        for row in self.s.rows:
            y = self.month_row(columns, row, y)
        self.rule(MARGIN, RIGHT, y + 6, 0.8)
        t = self.s.totals
        totals: list[Cell] = [self.label("合计", "Total"), "", "", t.medical_employer_fen]
        totals += [t.medical_person_fen, t.credited_fen, t.spent_fen, t.family_aid_fen]
        totals += [t.refunds_fen, *([t.other_fen] if self.other else [])]
        self.cells(columns, [*totals, self.s.closing_balance_fen], y - 4)
        return y - 14

    def month_row(self, columns: list[Column], row: MonthRow, y: float) -> float:
        """One line per contribution paid for the month; the movements on the first."""
        for index, contribution in enumerate(row.contributions or (None,)):
            cells: list[Cell] = [str(row.month) if index == 0 else ""]
            cells += self.contribution_cells(contribution, row)
            if index == 0:
                cells += [row.credited_fen, row.spent_fen, row.family_aid_fen, row.refunds_fen]
                cells += [row.other_fen] if self.other else []
                cells.append(row.balance_end_fen)
            self.cells(columns, cells, y)
            y -= 11
        self.rule(MARGIN, RIGHT, y + 7, 0.2)
        return y - 2

    def contribution_cells(self, paid: ContributionPaid | None, row: MonthRow) -> list[Cell]:
        if paid is None:
            if row.covered_by is not None:
                said = self.label(f"已随 {row.covered_by} 缴纳", f"paid with {row.covered_by}")
            elif row.retired:
                said = self.label("退休，无需缴费", "retired: none due")
            else:
                said = self.label("未缴费", "none paid")
            return [said, "", "", ""]
        names = INSURANCE_ZH if self.font.cjk else INSURANCE_EN
        text = " ".join(names.get(i, i) for i in sorted(paid.insurances, key=_insurance_order))
        if paid.through_month != paid.month:
            text += f" →{paid.through_month}"
        if (paid.received_on.year, paid.received_on.month) > (row.month.year, row.month.month):
            text += f" ({self.label('补缴', 'back pay')} {paid.received_on:%m-%d})"
        base = "" if paid.base_fen is None else fen_to_yuan(paid.base_fen)
        return [text, base, paid.medical_employer_fen, paid.medical_person_fen]

    def cells(self, columns: list[Column], cells: list[Cell], y: float) -> None:
        """Amounts of zero stay blank, except a balance (the last column of a full row)."""
        full = len(cells) == len(columns)
        for index, (column, cell) in enumerate(zip(columns, cells, strict=False)):
            if isinstance(cell, int):
                shown = cell or (full and index == len(columns) - 1)
                cell = fen_to_yuan(cell) if shown else ""
            if cell:
                self.text(column.anchor, y, cell, 7.5, align=column.align, width=column.width)

    def chart(self, top: float) -> None:
        """Month-end balances over the year, drawn in vector strokes."""
        self.text(MARGIN, top, self.label("月末余额走势（元）", "Month-end balance (yuan)"), 9)
        labels = [self.label("期初", "open"), *(str(month) for month in range(1, 13))]
        box = (MARGIN + 46, top - CHART_HEIGHT, RIGHT - 10, top - 14)
        self.line_chart(self.s.balances_fen, labels, box)

    def footer(self) -> None:
        self.rule(MARGIN, RIGHT, MARGIN + 40, 0.5)
        if self.font.cjk:
            self.text(MARGIN, MARGIN + 28, LAW_ZH, 7.5, width=RIGHT - MARGIN)
        self.text(MARGIN, MARGIN + 17, LAW_EN, 7, width=RIGHT - MARGIN, color=GREY)
        rule = self.label(
            "月末余额 = 上月余额 + 划入 − 本人支出 − 家庭共济 + 退款"
            + (" + 其他" if self.other else ""),
            "Balance = previous + credited - spent - family aid + refunds"
            + (" + other" if self.other else ""),
        )
        self.text(MARGIN, MARGIN + 6, rule, 6.5, color=GREY)
