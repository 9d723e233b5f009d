"""Only the ledger writes postings: no other module inserts into ledger_transfer."""

from __future__ import annotations

import re
from pathlib import Path

import yibao

SOURCES = Path(yibao.__file__).parent
OWNERS = (SOURCES / "ledger", SOURCES / "adapters" / "migrations")
WRITES = (
    re.compile(r"insert\w*\([^)]*\b(T|LedgerTransfer|LedgerTransfer\.__table__)\b\s*\)"),
    re.compile(r"INSERT\s+INTO\s+\"?ledger_transfer\b", re.IGNORECASE),
    re.compile(r"(append\w*|COPY)\(?\s*[\"']?ledger_transfer\b"),
)


def _writers() -> list[str]:
    found = []
    for path in sorted(SOURCES.rglob("*.py")):
        if any(path.is_relative_to(owner) for owner in OWNERS):
            continue
        text = path.read_text()
        found += [
            f"{path.relative_to(SOURCES)}: {m.group(0)}" for w in WRITES for m in w.finditer(text)
        ]
    return found


def test_no_module_outside_the_ledger_inserts_postings() -> None:
    assert _writers() == []


def test_the_scan_sees_the_ways_a_posting_could_be_written() -> None:
    samples = [
        "insert_skipping_duplicates(uow.dialect, T)",
        "insert(LedgerTransfer)",
        'exec_driver_sql("INSERT INTO ledger_transfer (key) VALUES (1)")',
        'loader.append("ledger_transfer", COLUMNS, rows)',
    ]
    assert all(any(w.search(sample) for w in WRITES) for sample in samples)
