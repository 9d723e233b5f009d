"""Declaration files as rows: CSV (UTF-8, with or without Excel's BOM) and .xlsx, streamed.

A file is read row by row (openpyxl's read-only mode for .xlsx), so a file of millions of rows
is never held whole. Each row comes out as its 1-based line in the sheet (the header is row 1)
and a dict of the header's names to the cell text; blank rows are skipped.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from yibao.domain.errors import InvalidInput

SheetRow = tuple[int, dict[str, str]]
ERROR_COLUMNS = ("row", "field", "value", "reason")


def content_sha256(path: Path) -> str:
    """The file's content hash: the same bytes are the same import, whatever the file's name."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_rows(path: Path, *, required: Sequence[str]) -> Iterator[SheetRow]:
    """The rows of a .csv or .xlsx file; the header must name every `required` column."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _xlsx_rows(path, required)
    if suffix in (".csv", ".txt"):
        return _csv_rows(path, required)
    raise InvalidInput("file", path.name, "is neither .csv nor .xlsx")


def _csv_rows(path: Path, required: Sequence[str]) -> Iterator[SheetRow]:
    with path.open(newline="", encoding="utf-8-sig") as stream:  # -sig: Excel's BOM
        try:
            yield from _named(enumerate(csv.reader(stream), start=1), required)
        except UnicodeDecodeError:
            raise InvalidInput("file", path.name, "is not UTF-8 text") from None


def _xlsx_rows(path: Path, required: Sequence[str]) -> Iterator[SheetRow]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # a zip that is no workbook, a damaged file: one clear refusal
        raise InvalidInput("file", path.name, "is not a readable .xlsx workbook") from None
    try:
        sheet = book.worksheets[0]
        cells = (
            (number, [_cell_text(value) for value in values])
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        )
        yield from _named(cells, required)
    finally:
        book.close()


def _cell_text(value: Any) -> str:
    """A cell as the text a clerk sees: dates as YYYY-MM-DD, whole numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _named(lines: Iterable[tuple[int, list[str]]], required: Sequence[str]) -> Iterator[SheetRow]:
    header: list[str] | None = None
    for number, cells in lines:
        if header is None:
            header = [cell.strip().lower() for cell in cells]
            missing = [name for name in required if name not in header]
            if missing:
                raise InvalidInput("header", ",".join(header), f"lacks {', '.join(missing)}")
            continue
        if not any(cell.strip() for cell in cells):
            continue
        yield (
            number,
            {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header)},
        )
    if header is None:
        raise InvalidInput("file", "", "is empty: a header row is expected")


class ErrorReport:
    """`FILE.errors.csv`: one line per refusal (row, field, value, reason), written as found."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._stream: IO[str] | None = None
        self._writer: Any = None

    def add(self, row: int, field: str, value: str, reason: str) -> None:
        if self._writer is None:
            self._stream = self.path.open("w", newline="", encoding="utf-8-sig")
            self._writer = csv.writer(self._stream)
            self._writer.writerow(ERROR_COLUMNS)
        self._writer.writerow((row, field, value, reason))
        self.count += 1

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()


@contextmanager
def error_report(path: Path) -> Iterator[ErrorReport]:
    """An error report for `path`; a stale report of an earlier run is removed first."""
    report = ErrorReport(path.with_name(path.name + ".errors.csv"))
    report.path.unlink(missing_ok=True)
    try:
        yield report
    finally:
        report.close()


EXPORT_FORMATS = ("csv", "xlsx")


def write_rows(
    path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], *, fmt: str
) -> int:
    """Write `rows` under `header` as CSV (UTF-8 with Excel's BOM) or .xlsx (openpyxl's
    write-only mode: rows go to disk as they come); returns how many. The file appears whole
    or not at all: it is written beside `path` and renamed when complete."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput("--format", fmt, "is neither csv nor xlsx")
    partial = path.with_name(path.name + ".part")
    count = 0
    try:
        if fmt == "csv":
            with partial.open("w", newline="", encoding="utf-8-sig") as stream:
                writer = csv.writer(stream)
                writer.writerow(header)
                for row in rows:
                    writer.writerow(row)
                    count += 1
        else:
            from openpyxl import Workbook

            book = Workbook(write_only=True)
            sheet = book.create_sheet()
            sheet.append(list(header))
            for row in rows:
                sheet.append(list(row))
                count += 1
            book.save(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return count
