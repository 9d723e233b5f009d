"""The medical insurance catalogue (医保目录): whether, and how much of, a line is eligible.

Class A (甲类) lies fully within the catalogue; class B (乙类) within it after the person pays
`selfpay_prop` of it first (先行自付, `preselfpay_amt`); class C (丙类) outside it, paid in
full by the person (`fulamt_ownpay_amt`). What is left is `inscp_scp_amt`, the eligible part
the pooled fund and the personal account see. A code the catalogue does not list is class C.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from yibao.domain.errors import InvalidInput
from yibao.domain.money import parse_rate, round_half_up_to_fen

HEADER = ("code", "name", "class", "selfpay_prop")


class ItemClass(StrEnum):
    A = "A"
    B = "B"
    C = "C"

    @property
    def chrgitm_lv(self) -> str:
        """The national charge item level: 01 class A, 02 class B, 03 class C."""
        return {"A": "01", "B": "02", "C": "03"}[self.value]


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    code: str
    name: str
    item_class: ItemClass
    selfpay_prop: Decimal  # 0 for A and C


NOT_LISTED = CatalogueEntry("", "", ItemClass.C, Decimal(0))


@dataclass(frozen=True, slots=True)
class LineVerdict:
    """One line's amount cut by the catalogue: own + preselfpay + eligible = amount."""

    item_class: ItemClass
    selfpay_prop: Decimal
    fulamt_ownpay_fen: int
    preselfpay_fen: int
    eligible_fen: int


def verdict(entry: CatalogueEntry, amount_fen: int) -> LineVerdict:
    cls = entry.item_class
    if cls is ItemClass.C:
        return LineVerdict(cls, Decimal(1), amount_fen, 0, 0)
    preselfpay = 0
    if cls is ItemClass.B:
        preselfpay = round_half_up_to_fen(entry.selfpay_prop * amount_fen)
    return LineVerdict(cls, entry.selfpay_prop, 0, preselfpay, amount_fen - preselfpay)


def entry_from_row(row: Mapping[str, str | None], *, line: int) -> CatalogueEntry:
    """One CSV row, checked: an error names the row, the field and the value."""

    def fail(field: str, problem: str) -> InvalidInput:
        return InvalidInput(f"row {line} {field}", row.get(field), problem)

    code = (row.get("code") or "").strip()
    if not code or len(code) > 60:
        raise fail("code", "must be 1 to 60 characters")
    name = (row.get("name") or "").strip()
    if not name or len(name) > 200:
        raise fail("name", "must be 1 to 200 characters")
    written_class = (row.get("class") or "").strip().upper()
    if written_class not in ItemClass.__members__:
        raise fail("class", "is not a catalogue class (A, B or C)")
    item_class = ItemClass(written_class)
    written_prop = (row.get("selfpay_prop") or "").strip() or "0"
    try:
        prop = parse_rate(written_prop, field="selfpay_prop")
    except InvalidInput:
        raise fail("selfpay_prop", "is not a rate between 0 and 1") from None
    if item_class is not ItemClass.B and prop != 0:
        raise fail("selfpay_prop", f"must be 0 for class {item_class}: only class B pays first")
    return CatalogueEntry(code, name, item_class, prop)
