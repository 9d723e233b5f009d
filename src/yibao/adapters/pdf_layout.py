"""Drawing primitives for the statement PDF: text that fits, table columns, a line chart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from yibao.domain.money import fen_to_yuan

INK, GREY = colors.black, colors.HexColor("#6b7280")
GRID, LINE_BLUE = colors.HexColor("#d1d5db"), colors.HexColor("#1d4ed8")


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    subtitle: str
    left: float
    width: float
    align: str  # "left" or "right"

    @property
    def anchor(self) -> float:
        """Where text is drawn from: the left edge, or the right edge less a little air."""
        return self.left if self.align == "left" else self.left + self.width - 3

    @classmethod
    def laid_out(
        cls,
        spec: Sequence[tuple[str, str, float, str]],
        left: float,
        width: float,
        *,
        chinese: bool,
    ) -> list[Column]:
        """Columns (zh, en, relative width, align) scaled to fill `width` from `left`."""
        scale = width / sum(relative for _, _, relative, _ in spec)
        columns, x = [], left
        for zh, en, relative, align in spec:
            title, subtitle = (zh, en) if chinese else (en, "")
            columns.append(cls(title, subtitle, x, relative * scale, align))
            x += relative * scale
        return columns


def nice_ticks(low: int, high: int, most: int = 5) -> list[int]:
    """Round axis values (1, 2 or 5 times a power of ten, in fen) covering low..high."""
    if high <= low:
        high = low + 100
    raw = (high - low) / max(most - 1, 1)
    power = 1
    while power * 10 <= raw:
        power *= 10
    step = next(f * power for f in (1, 2, 5, 10) if f * power >= raw)
    ticks = [(low // step) * step]
    while ticks[-1] < high:
        ticks.append(ticks[-1] + step)
    return ticks


class Pen:
    """Draws on one page in one font."""

    def __init__(self, canvas: Canvas, font_name: str) -> None:
        self.c, self.font_name = canvas, font_name

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float = 9,
        *,
        align: str = "left",
        width: float | None = None,
        color: colors.Color = INK,
    ) -> None:
        if width is not None:  # shrink to fit the column rather than overflow it
            while size > 5 and pdfmetrics.stringWidth(text, self.font_name, size) > width:
                size -= 0.5
        self.c.setFont(self.font_name, size)
        self.c.setFillColor(color)
        draw = {"left": self.c.drawString, "right": self.c.drawRightString}
        draw.get(align, self.c.drawCentredString)(x, y, text)

    def rule(self, left: float, right: float, y: float, width: float) -> None:
        self.c.setStrokeColor(GREY)
        self.c.setLineWidth(width)
        self.c.line(left, y, right, y)

    def line_chart(
        self,
        points_fen: Sequence[int],
        x_labels: Sequence[str],
        box: tuple[float, float, float, float],  # left, bottom, right, top of the plot area
    ) -> None:
        """Amounts in fen as a polyline over evenly spaced labels, with yuan gridlines."""
        left, bottom, right, top = box
        ticks = nice_ticks(min(0, *points_fen), max(0, *points_fen))
        span = (ticks[-1] - ticks[0]) or 1
        steps = max(len(points_fen) - 1, 1)

        def at(index: int, fen: int) -> tuple[float, float]:
            return (
                left + (right - left) * index / steps,
                bottom + (top - bottom) * (fen - ticks[0]) / span,
            )

        for tick in ticks:
            y = at(0, tick)[1]
            self.c.setStrokeColor(GRID)
            self.c.setLineWidth(0.3)
            self.c.line(left, y, right, y)
            self.text(left - 4, y - 2.5, fen_to_yuan(tick), 6.5, align="right", color=GREY)
        for index, label in enumerate(x_labels):
            self.text(at(index, 0)[0], bottom - 10, label, 6.5, align="centre", color=GREY)
        path = self.c.beginPath()
        path.moveTo(*at(0, points_fen[0]))
        for index, fen in enumerate(points_fen[1:], start=1):
            path.lineTo(*at(index, fen))
        self.c.setStrokeColor(LINE_BLUE)
        self.c.setLineWidth(1.6)
        self.c.drawPath(path, stroke=1, fill=0)
        self.c.setFillColor(LINE_BLUE)
        for index, fen in enumerate(points_fen):
            self.c.circle(*at(index, fen), 1.8, stroke=0, fill=1)
