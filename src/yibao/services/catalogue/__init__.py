"""The medical insurance catalogue of each area: loaded from CSV, effective-dated by month.

A load is a whole catalogue: from its month on, it replaces the area's earlier one. Where an
area has a catalogue in force, it decides each sold line's class (domain.catalogue), on every
path (the national interface, the API and CLI POS). Where it has none, the POS paths keep the
cashier's word (`account_may_pay`), as before catalogues existed; the national interface, whose
clients send no such word, treats every line as outside the catalogue (class C).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import cast

from sqlalchemy import String, Table, any_, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import Executable

from yibao.adapters.hot import HotStatement
from yibao.adapters.tables import Area, CatalogueItem
from yibao.domain.catalogue import (
    HEADER,
    NOT_LISTED,
    CatalogueEntry,
    ItemClass,
    entry_from_row,
    verdict,
)
from yibao.domain.errors import Conflict, InvalidInput, UnknownArea
from yibao.domain.months import Month
from yibao.domain.settlement import LineItem
from yibao.services.uow import UnitOfWork

CI = cast(Table, CatalogueItem.__table__)

_IN_FORCE = (  # the month of the area's catalogue in force in :month
    select(func.max(CI.c.from_month))
    .where(CI.c.area_code == bindparam("area"), CI.c.from_month <= bindparam("month"))
    .scalar_subquery()
)


def _entries(dialect: str) -> Executable:
    """One round trip: the month in force (NULL: none) and the entries of the codes asked."""
    codes = (
        CI.c.code == any_(bindparam("codes", type_=ARRAY(String)))
        if dialect == "postgresql"
        else CI.c.code.in_(bindparam("codes", expanding=True))
    )
    in_force = _IN_FORCE.label("loaded")
    return (
        select(CI.c.code, CI.c.name, CI.c.item_class, CI.c.selfpay_prop, in_force)
        .select_from(select(_IN_FORCE.label("m")).subquery("m"))
        .outerjoin(
            CI, (CI.c.area_code == bindparam("area")) & (CI.c.from_month == _IN_FORCE) & codes
        )
    )


_ENTRIES = HotStatement(_entries)


def parse_csv(text: str) -> list[CatalogueEntry]:
    """The file's rows, each checked; the first bad one raises, naming its row and field."""
    reader = csv.DictReader(io.StringIO(text))
    if tuple(name.strip() for name in reader.fieldnames or ()) != HEADER:
        raise InvalidInput("header", reader.fieldnames, f"must be {','.join(HEADER)}")
    entries: list[CatalogueEntry] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        entry = entry_from_row({k.strip(): v for k, v in row.items() if k}, line=line)
        if entry.code in seen:
            raise InvalidInput(
                f"row {line} code", entry.code, f"is listed already on row {seen[entry.code]}"
            )
        seen[entry.code] = line
        entries.append(entry)
    if not entries:
        raise InvalidInput("file", "", "holds no catalogue rows")
    return entries


def load(
    *, uow: UnitOfWork, area_code: str, from_month: str, entries: Sequence[CatalogueEntry]
) -> int:
    """Write the area's catalogue from `from_month`, all rows or none. Loading the same
    catalogue again writes nothing; a different one for a month already loaded is refused."""
    month = str(Month.parse(from_month))
    if uow.session.get(Area, area_code) is None:
        raise UnknownArea(f"no area with code {area_code!r}")
    existing = uow.session.execute(
        select(CI.c.code, CI.c.name, CI.c.item_class, CI.c.selfpay_prop).where(
            CI.c.area_code == area_code, CI.c.from_month == month
        )
    ).all()
    if existing:
        given = {(e.code, e.name, str(e.item_class), str(e.selfpay_prop)) for e in entries}
        if {tuple(row) for row in existing} == given:
            return 0
        raise Conflict(
            f"area {area_code} has another catalogue from {month}; catalogues are "
            "effective-dated: load the change with a new --from month"
        )
    uow.session.execute(
        insert(CI),
        [
            {
                "area_code": area_code,
                "from_month": month,
                "code": e.code,
                "name": e.name,
                "item_class": str(e.item_class),
                "selfpay_prop": str(e.selfpay_prop),
            }
            for e in entries
        ],
    )
    return len(entries)


def entries_in_force(
    *, uow: UnitOfWork, area_code: str, on: dt.date, codes: Sequence[str]
) -> dict[str, CatalogueEntry] | None:
    """The entries of `codes` in the area's catalogue in force on `on`; None: it has none."""
    rows = _ENTRIES.rows(
        uow.hot, {"area": area_code, "month": str(Month.of(on)), "codes": sorted(set(codes))}
    )
    if not rows or rows[0][4] is None:
        return None
    return {
        code: CatalogueEntry(code, name, ItemClass(cls), Decimal(prop))
        for code, name, cls, prop, _ in rows
        if code is not None
    }


def classified(line: LineItem, entry: CatalogueEntry) -> LineItem:
    """The line as the catalogue has it: the account may pay for A and B, B less its part
    paid first."""
    cut = verdict(entry, line.amount_fen)
    return replace(
        line,
        account_may_pay=cut.item_class is not ItemClass.C,
        preselfpay_fen=cut.preselfpay_fen,
    )


def lines_by_catalogue(
    *, uow: UnitOfWork, area_code: str, on: dt.date, lines: tuple[LineItem, ...]
) -> tuple[LineItem, ...]:
    """A POS sale's lines with the catalogue's verdict, where the area has a catalogue in
    force; as the cashier gave them where it has none."""
    found = entries_in_force(
        uow=uow, area_code=area_code, on=on, codes=[line.catalogue_code for line in lines]
    )
    if found is None:
        return lines
    return tuple(classified(line, found.get(line.catalogue_code, NOT_LISTED)) for line in lines)
