"""The CLI leaves an audit entry for every read and write of a person's data, refusals too, as
the operating-system user; `yibao audit show` lists them masked; `yibao audit verify` finds a
rewritten entry. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import subprocess
import sys
from typing import Any

from sqlalchemy import text

from tests.scenario_files import EXAMPLES
from yibao.adapters.db import make_engine
from yibao.bootstrap import App
from yibao.domain.idnumber import make_id_number, mask
from yibao.services import audit
from yibao.services.audit import Actor, AuditEvent

PERSON = "420102199003071232"
UNKNOWN = make_id_number("110101", dt.date(1990, 1, 1), 123)
PIN = "246810"
WRONG_PIN = "135799"


def yibao(url: str, *args: str, keys: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yibao.entrypoints.cli.main", *args, "--db", url],
        input=keys,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200", "YIBAO_ENV": "development"},
    )


def _ok(url: str, *args: str, keys: str = "") -> None:
    done = yibao(url, *args, keys=keys)
    assert done.returncode == 0, done.stderr


def _rows(url: str) -> list[Any]:
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = list(connection.execute(text("SELECT * FROM audit_entry ORDER BY id")).all())
    engine.dispose()
    return rows


def _shown(url: str, *args: str) -> list[dict[str, Any]]:
    done = yibao(url, "audit", "show", "--person", PERSON, "--json", *args)
    assert done.returncode == 0, done.stderr
    shown: list[dict[str, Any]] = json.loads(done.stdout)
    return shown


def _city(url: str) -> None:
    _ok(url, "area", "load", str(EXAMPLES / "01_medical_left_out.yaml"))
    _ok(url, "employer", "add", "E001", "Example Machinery Co.", "--area", "420100")
    _ok(url, "institution", "add", "P001", "Example Pharmacy", "pharmacy", "--area", "420100")
    _ok(url, "person", "add", PERSON, "Zhang Wei", "--area", "420100")
    _ok(url, "person", "register", PERSON, "--employer", "E001", "--on", "2024-01-10")
    _ok(url, "card", "issue", PERSON, "C1", "--on", "2024-01-12")
    _ok(url, "card", "activate", PERSON, "--on", "2024-01-12", keys=f"{PIN}\n")


def test_reads_writes_and_refusals_leave_entries_as_the_os_user(empty_database_url: str) -> None:
    url = empty_database_url
    _city(url)
    _ok(url, "inquire", "--person", PERSON, "--as-of", "2024-03-01")
    _ok(url, "records", "--person", PERSON)
    refused = yibao(url, "person", "register", PERSON, "--employer", "E404", "--on", "2024-02-01")
    assert refused.returncode == 2
    wrong = yibao(
        url,
        *("pos", "settle", "--institution", "P001", "--ref", "R1", "--card", "C1"),
        *("--item", "A01:1:10.00", "--day", "2024-03-01"),
        keys=f"{WRONG_PIN}\n",
    )
    assert wrong.returncode == 1
    assert yibao(url, "inquire", "--person", UNKNOWN).returncode == 2

    shown = _shown(url)
    assert [(e["action"], e["outcome"]) for e in reversed(shown)] == [
        ("person.add", "ok"),
        ("person.register", "ok"),
        ("card.issue", "ok"),
        ("card.activate", "ok"),
        ("inquiry", "ok"),
        ("payment_records", "ok"),
        ("person.register", "unknown_employer"),
        ("pos.settle", "wrong_pin"),  # the person found by the card presented
    ]
    assert {(e["user"], e["role"]) for e in shown} == {(getpass.getuser(), "operator")}
    assert {e["person"] for e in shown} == {mask(PERSON)}
    assert [e["channel"] for e in shown if e["action"] == "inquiry"] == ["web"]

    rows = _rows(url)
    assert any(row.person == UNKNOWN and row.outcome == "unknown_person" for row in rows)
    for row in rows:  # the PINs typed never reach an entry
        assert PIN not in str(tuple(row))
        assert WRONG_PIN not in str(tuple(row))
    assert yibao(url, "audit", "verify").returncode == 0


def test_audit_show_filters_and_masks(empty_database_url: str) -> None:
    url = empty_database_url
    _city(url)
    listed = yibao(url, "audit", "show", "--person", PERSON)
    assert listed.returncode == 0, listed.stderr
    assert PERSON not in listed.stdout
    assert mask(PERSON) in listed.stdout
    assert _shown(url, "--user", "nobody-else") == []
    assert _shown(url, "--day", "2001-01-01") == []
    assert len(_shown(url, "--limit", "2")) == 2
    bad_day = yibao(url, "audit", "show", "--person", PERSON, "--day", "2024-02-30")
    assert bad_day.returncode == 2
    assert "--day" in bad_day.stderr


def test_audit_verify_names_a_changed_entry(empty_database_url: str) -> None:
    url = empty_database_url
    _city(url)
    assert yibao(url, "audit", "verify").returncode == 0
    first = _rows(url)[0].id
    _tampered(url, ("UPDATE audit_entry SET outcome = 'x' WHERE id = :i", {"i": first}))
    found = yibao(url, "audit", "verify")
    assert found.returncode == 1
    assert f"entry {first} " in found.stderr
    assert "changed" in found.stderr


def _tampered(url: str, *statements: tuple[str, dict[str, int]]) -> None:
    """Statements run past the append-only trigger PostgreSQL keeps on the trail."""
    engine = make_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
        for sql, params in statements:
            connection.execute(text(sql), params)
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER USER"))
    engine.dispose()


def _a_chain_of_three(url: str) -> list[int]:
    """The ids of the first three entries of a chain that holds at least three (forty more
    entries written first, five to a transaction: each transaction keeps to one chain)."""
    engine = make_engine(url)
    app = App(engine)
    for start in range(0, 40, 5):
        with app.uow() as uow:
            for n in range(start, start + 5):
                event = AuditEvent(Actor("clerk", "clerk"), "inquiry", "web", PERSON, f"n:{n}")
                audit.record(uow=uow, event=event)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT chain, id FROM audit_entry ORDER BY chain, seq"))
        chains: dict[int, list[int]] = {}
        for chain, entry in rows:
            chains.setdefault(chain, []).append(entry)
    engine.dispose()
    return next(ids[:3] for ids in chains.values() if len(ids) >= 3)


def test_audit_verify_names_a_removed_entry(empty_database_url: str) -> None:
    url = empty_database_url
    _city(url)
    ids = _a_chain_of_three(url)
    _tampered(url, ("DELETE FROM audit_entry WHERE id = :i", {"i": ids[1]}))

    found = yibao(url, "audit", "verify")

    assert found.returncode == 1
    assert "removed" in found.stderr
    assert f"entry {ids[2]}" in found.stderr


def test_audit_verify_names_a_reordered_entry(empty_database_url: str) -> None:
    url = empty_database_url
    _city(url)
    first, second, _ = _a_chain_of_three(url)
    spare = 10_000_000
    swap = "UPDATE audit_entry SET id = :n WHERE id = :o"
    _tampered(
        url,
        (swap, {"n": spare, "o": first}),
        (swap, {"n": first, "o": second}),
        (swap, {"n": second, "o": spare}),
    )

    found = yibao(url, "audit", "verify")

    assert found.returncode == 1
    assert "reordered" in found.stderr
    assert f"entry {first}" in found.stderr
