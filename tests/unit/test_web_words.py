"""Every word a page shows is in the translation table, in both languages; the chart is SVG."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from xml.etree import ElementTree

import yibao.entrypoints.api.app
import yibao.entrypoints.cli.main
import yibao.scenario.replay  # noqa: F401
from yibao.domain.errors import YibaoError
from yibao.domain.months import Month
from yibao.entrypoints.web import i18n
from yibao.entrypoints.web.chart import balance_chart, month_points
from yibao.services.registry.employees import Registration

TEMPLATES = Path(i18n.__file__).parent / "templates"
LITERAL = re.compile(r"""\bt\(\s*'([a-z0-9_\-]+)'\s*[,)]""")
PREFIXED = re.compile(r"""\bt\(\s*'([a-z0-9_\-]+_)'\s*\+""")
# the values a prefixed key is completed with
COMPLETIONS = {
    "card_status_": ("issued", "active", "lost"),
    "registration_": tuple(str(r) for r in Registration),
    "insurance_": ("pension", "medical", "unemployment", "injury", "maternity"),
    "run_": ("not_started", "running", "completed", "failed"),
    "scheme_": ("flexible", "resident", "retiree"),
    "done_": ("bound", "unbound"),
    "refusal_": (),  # every refusal code: see the test below
    "action_": (
        "registered",
        "enrol",
        "contribution",
        "merge",
        "card-issue",
        "card-activate",
        "card-loss",
        "card-replace",
        "pin-reset",
    ),
}


def test_every_key_the_templates_use_is_translated() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        used.update(LITERAL.findall(text))
        for prefix in PREFIXED.findall(text):
            assert prefix in COMPLETIONS, f"{template.name}: t('{prefix}' + ...) unknown"
            used.update(prefix + value for value in COMPLETIONS[prefix])
    missing = sorted(used - set(i18n.WORDS))
    assert missing == []
    assert len(used) > 100


def _codes(kind: type[YibaoError]) -> set[str]:
    return {kind.code}.union(*(_codes(sub) for sub in kind.__subclasses__()))


def test_every_refusal_is_named_in_both_languages() -> None:
    """An error page and an import's row errors name each refusal by its code in the reader's
    language: a new error class without its words fails here."""
    missing = sorted(_codes(YibaoError) - set(i18n.REFUSALS))
    assert missing == []
    assert "outside_scope" in i18n.REFUSALS  # an import row's refusal without an error class


def test_every_word_has_a_chinese_and_an_english_text() -> None:
    for key, (zh, en) in i18n.WORDS.items():
        assert zh.strip(), key
        assert en.strip(), key
        assert zh != en or key in {"yuan"}, key


def test_the_balance_chart_marks_credits_and_spending_by_month() -> None:
    lines = [
        (dt.date(2024, 1, 31), 16_000, 16_000),
        (dt.date(2024, 2, 10), -5_000, 11_000),
        (dt.date(2024, 2, 29), 16_000, 27_000),
    ]
    points = month_points(lines, dt.date(2024, 3, 15), 3)
    assert [p.month for p in points] == [Month(2024, 1), Month(2024, 2), Month(2024, 3)]
    assert [p.balance_fen for p in points] == [16_000, 27_000, 27_000]
    assert [(p.credited_fen, p.spent_fen) for p in points] == [(16_000, 0), (16_000, 5_000), (0, 0)]
    svg = balance_chart(points, title="余额 <2 years>", credit="credited", spend="spent")
    tree = ElementTree.fromstring(svg)
    assert tree.tag.endswith("svg")
    assert svg.count("credited") == 2
    assert svg.count("spent 50.00") == 1
    assert "&lt;2 years&gt;" in svg
