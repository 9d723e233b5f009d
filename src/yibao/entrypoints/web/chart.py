"""The personal account's balance over the last 24 months, as inline SVG drawn on the server.

A line of month-end balances, a green mark under each month with credits and a red one with
spending; the numbers are in the SVG's title and in the table beside it, for screen readers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape

from yibao.domain.money import fen_to_yuan
from yibao.domain.months import Month

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 300, 96, 40, 24, 64
FONT = 22  # the SVG is drawn 640 wide and shown about 360 wide on a phone
CREDIT_COLOUR, SPEND_COLOUR, LINE_COLOUR = "#0a7a35", "#b3261e", "#1f4e99"


@dataclass(frozen=True, slots=True)
class MonthPoint:
    month: Month
    balance_fen: int
    credited_fen: int
    spent_fen: int  # positive: what left the account that month


def month_points(
    lines: list[tuple[dt.date, int, int]],
    today: dt.date,
    months: int = 24,
    *,
    opening_fen: int = 0,
) -> list[MonthPoint]:
    """(value date, amount, balance after) in date order -> the last `months` month ends."""
    last = Month.of(today)
    first = last.plus(-(months - 1))
    balance, index = opening_fen, 0
    points = []
    for offset in range(months):
        month = first.plus(offset)
        credited = spent = 0
        while index < len(lines) and lines[index][0] <= month.last_day:
            day, amount, after = lines[index]
            if day >= month.first_day:
                credited += max(amount, 0)
                spent += max(-amount, 0)
            balance = after
            index += 1
        points.append(MonthPoint(month, balance, credited, spent))
    return points


def balance_chart(points: list[MonthPoint], *, title: str, credit: str, spend: str) -> str:
    top = max([p.balance_fen for p in points] + [100])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(points) - 1, 1)

    def x(i: int) -> float:
        return LEFT + i * step

    def y(fen: int) -> float:
        return TOP + plot_h - plot_h * fen / top

    path = " ".join(f"{x(i):.1f},{y(p.balance_fen):.1f}" for i, p in enumerate(points))
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title" '
        'class="chart" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<line x1="{LEFT}" y1="{y(0):.1f}" x2="{WIDTH - RIGHT}" y2="{y(0):.1f}" '
        'stroke="#666" stroke-width="1"/>',
        f'<text x="{LEFT - 6}" y="{y(top) + 4:.1f}" text-anchor="end" font-size="{FONT}" '
        f'fill="#333">{fen_to_yuan(top)}</text>',
        f'<text x="{LEFT - 6}" y="{y(0) + 4:.1f}" text-anchor="end" font-size="{FONT}" '
        'fill="#333">0</text>',
        f'<polyline points="{path}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2.5"/>',
    ]
    for i, point in enumerate(points):
        cx = x(i)
        if point.credited_fen:
            parts.append(
                f'<path d="M{cx - 7:.1f},{y(0) + 22:.1f} h14 l-7,-12 z" fill="{CREDIT_COLOUR}">'
                f"<title>{escape(f'{point.month} {credit} {fen_to_yuan(point.credited_fen)}')}"
                "</title></path>"
            )
        if point.spent_fen:
            parts.append(
                f'<path d="M{cx - 7:.1f},{y(0) + 26:.1f} h14 l-7,12 z" fill="{SPEND_COLOUR}">'
                f"<title>{escape(f'{point.month} {spend} {fen_to_yuan(point.spent_fen)}')}"
                "</title></path>"
            )
        if i % 8 == 0 or i == len(points) - 1:
            anchor = "end" if i == len(points) - 1 else "start" if i == 0 else "middle"
            parts.append(
                f'<text x="{cx:.1f}" y="{HEIGHT - 6}" text-anchor="{anchor}" font-size="{FONT}" '
                f'fill="#333">{point.month}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
