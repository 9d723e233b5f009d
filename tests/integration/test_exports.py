"""`yibao export`: what the files hold agrees with the records and the ledger, on both backends."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import case, func, select

from tests.e2e.api.world import AREA, OTHER_AREA, build_world
from yibao.adapters.tables import Contribution, LedgerAccount, LedgerTransfer, Person
from yibao.adapters.tabular import write_rows
from yibao.bootstrap import App
from yibao.ledger import accounts
from yibao.services.exports import export


def _fen(yuan: object) -> int:
    return int(Decimal(str(yuan)) * 100)


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def _xlsx(path: Path) -> list[dict[str, object]]:
    book = load_workbook(path, read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    header = [str(name) for name in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def _written(app: App, tmp_path: Path, what: str, fmt: str, year: int | None) -> Path:
    out = tmp_path / f"{what}-{year}.{fmt}"
    found = export(uow_factory=app.uow, what=what, area_code=AREA, year=year)
    write_rows(out, found.header, found.rows, fmt=fmt)
    return out


def test_exports_agree_with_the_records_and_the_ledger(app: App, tmp_path: Path) -> None:
    build_world(app)
    book = accounts.medical_book(AREA)
    with app.uow() as uow:
        s = uow.session
        c = Contribution
        paid = s.execute(
            select(
                func.count(),
                func.sum(c.medical_employer_fen + c.medical_person_fen),
                func.sum(c.credit_fen),
            ).where(c.area_code == AREA)
        ).one()
        moved = s.execute(
            select(func.count(), func.sum(LedgerTransfer.amount_fen)).where(
                LedgerTransfer.book == book
            )
        ).one()
        personal = select(LedgerAccount.id).where(
            LedgerAccount.book == book, LedgerAccount.kind == "personal"
        )
        t = LedgerTransfer
        balance = s.scalar(
            select(
                func.sum(
                    case((t.credit_account_id.in_(personal), t.amount_fen), else_=0)
                    - case((t.debit_account_id.in_(personal), t.amount_fen), else_=0)
                )
            ).where(t.book == book, t.value_date <= dt.date(2024, 12, 31))
        )
        persons = s.scalar(select(func.count()).where(Person.area_code == AREA))
        others = s.scalar(select(func.count()).where(Contribution.area_code == OTHER_AREA))
    assert paid[0] > 0
    assert others  # the other area's payments exist, and must stay out

    payments = _csv(_written(app, tmp_path, "payments", "csv", None))
    assert len(payments) == paid[0]
    medical = sum(_fen(r["medical_employer"]) + _fen(r["medical_person"]) for r in payments)
    assert medical == paid[1]
    assert sum(_fen(r["credit"]) for r in payments) == paid[2]
    assert _csv(_written(app, tmp_path, "payments", "csv", 2023)) == []

    transfers = _xlsx(_written(app, tmp_path, "transfers", "xlsx", 2024))
    assert len(transfers) == moved[0]
    assert sum(_fen(r["amount"]) for r in transfers) == moved[1]
    assert all(r["debit"] and r["credit"] for r in transfers)

    statements = _csv(_written(app, tmp_path, "statements", "csv", 2024))
    assert len(statements) == persons
    assert sum(_fen(r["closing"]) for r in statements) == balance
    assert sum(_fen(r["credited"]) for r in statements) > 0
    for r in statements:
        flows = _fen(r["credited"]) - _fen(r["spent"]) - _fen(r["family_aid"])
        flows += _fen(r["refunds"]) + _fen(r["other"])
        assert _fen(r["opening"]) + flows == _fen(r["closing"]), r["id_number"]
