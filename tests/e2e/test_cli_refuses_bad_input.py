"""Input that used to crash with a traceback: one line naming the field and value, exit 2, no write.

Issue 10, section 5: odd digits, numbers beyond BIGINT, malformed YAML files, bad database URLs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.conftest import PG_URL, require_postgres
from tests.e2e.cli import PERSON, count, make_city, yibao, yibao_with_input
from tests.scenario_files import EXAMPLES
from yibao.adapters.db import scratch_database

TEST_DATABASE_ENV = {**os.environ, "YIBAO_ENV": "development"}  # PostgreSQL with test keys
TABLES = (
    "area",
    "employer",
    "institution",
    "person",
    "card",
    "contribution",
    "settlement",
    "ledger_transfer",
)


@pytest.fixture(scope="module")
def built_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The city with a pharmacy and an activated card, bank account included (built once)."""
    city = make_city(tmp_path_factory.mktemp("shop"))
    steps = [
        ("institution", "add", "P001", "Example Pharmacy", "pharmacy", "--area", "420100"),
        ("card", "issue", PERSON, "A10000001", "--on", "2024-05-02"),
        ("card", "activate", PERSON, "--on", "2024-05-03"),  # the PIN on stdin
        ("card", "activate-financial", PERSON, "--on", "2024-05-03"),
        ("card", "deposit", PERSON, "--amount", "100", "--ref", "D0", "--on", "2024-05-03"),
    ]
    for step in steps:
        done = yibao_with_input(city, "246810\n", *step)
        assert done.returncode == 0, done.stderr
    return city


@pytest.fixture
def shop(built_shop: Path, tmp_path: Path) -> Path:
    """A copy of the shop for one test: the CLI runs are what take the time."""
    copy = tmp_path / built_shop.name
    shutil.copy(built_shop, copy)
    return copy


def rows(db: Path) -> dict[str, int]:
    return {table: count(db, table) for table in TABLES}


def refused(db: Path, *args: str, keys: str = "") -> str:
    """Run `yibao args` (typing `keys`); assert the one-line refusal, exit 2, nothing written."""
    before = rows(db)
    done = yibao_with_input(db, keys, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert rows(db) == before
    return done.stderr


PIN_TYPED = "246810\n"


def settle(*items: str) -> tuple[str, ...]:
    args = ["pos", "settle", "--institution", "P001", "--ref", "R1", "--day", "2024-05-06"]
    for item in items:
        args += ["--item", item]
    return (*args, "--card", "A10000001")  # the PIN 246810 is typed: see PIN_TYPED


@pytest.mark.parametrize("amount", ["1e3", "1_000", "１０", "٣", "1.5e2", "NaN", "-"])
def test_an_amount_in_anything_but_ascii_digits_is_refused(shop: Path, amount: str) -> None:
    said = refused(
        shop, "card", "deposit", PERSON, "--amount", amount, "--ref", "D1", "--on", "2024-05-04"
    )
    assert "amount" in said
    assert repr(amount) in said


@pytest.mark.parametrize("pin", ["２４６８１０", "٢٤٦٨١٠", "24681０"])
def test_a_pin_in_anything_but_ascii_digits_is_refused(city: Path, pin: str) -> None:
    assert yibao(city, "card", "issue", PERSON, "A10000001", "--on", "2024-05-02").returncode == 0
    said = refused(city, "card", "activate", PERSON, "--on", "2024-05-03", keys=f"{pin}\n")
    assert "PIN" in said or "pin" in said


@pytest.mark.parametrize(
    ("items", "says"),
    [
        (("A01:²:10",), "'²'"),
        (("A01:１:10",), "'１'"),
        (("A01:2147483648:10",), "2147483648"),
        (("A01:" + "9" * 5000 + ":10",), "item quantity"),
        (("A01:1:92233720368547758.08",), "'92233720368547758.08'"),
        (("A01:1:92233720368547758.07", "A02:1:0.01"), "'92233720368547758.08'"),
        (("A01:1:1e3",), "'1e3'"),
    ],
)
def test_a_quantity_or_total_beyond_its_column_is_refused(
    shop: Path, items: tuple[str, ...], says: str
) -> None:
    said = refused(shop, *settle(*items), keys=PIN_TYPED)
    assert says in said


@pytest.mark.parametrize("month", ["２０２４-０４", "2024-٠٤"])
def test_a_month_in_anything_but_ascii_digits_is_refused(city: Path, month: str) -> None:
    said = refused(
        city,
        "contribution",
        "pay",
        "--person",
        PERSON,
        "--month",
        month,
        "--base",
        "6000",
        "--insurances",
        "medical",
        "--received",
        "2024-04-15",
    )
    assert repr(month) in said


def _bomb() -> str:
    """A billion laughs: ten levels of nine aliases each, under the area's name."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]")
    return "\n".join(lines) + "\narea:\n  code: '420100'\n  name: *a9\n"


POLICY_FILES = {
    "bomb": lambda text: (_bomb() + text.split("\narea:\n", 1)[1]).encode(),
    "deep": lambda text: ("deep: " + "[" * 5000 + "]" * 5000 + "\n" + text).encode(),
    "latin1": lambda text: text.encode() + "# café\n".encode("latin-1"),
    "area5": lambda text: text.replace("\narea:\n", "\narea: 5\nwas_area:\n", 1).encode(),
    "no code": lambda text: text.replace('  code: "420100"\n', "", 1).encode(),
    "huge": lambda text: text.encode() + b"#" * (3 * 1024 * 1024) + b"\n",
}
SAYS = {
    "bomb": "aliases",
    "deep": "deeper",
    "latin1": "UTF-8",
    "area5": "area",
    "no code": "area.code: None",
    "huge": "larger",
}


@pytest.mark.parametrize("command", [("area", "load"), ("scenario", "run")])
@pytest.mark.parametrize("case", sorted(POLICY_FILES))
def test_a_hostile_or_malformed_yaml_file_is_refused_in_one_line(
    tmp_path: Path, command: tuple[str, str], case: str
) -> None:
    scenario = (EXAMPLES / "01_medical_left_out.yaml").read_text(encoding="utf-8")
    path = tmp_path / "area.yaml"
    path.write_bytes(POLICY_FILES[case](scenario))
    db = tmp_path / "x.db"
    done = yibao(db, *command, str(path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert SAYS[case] in done.stderr
    if db.exists():
        assert count(db, "area") == 0


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (("kind: pharmacy", "kind: spa"), "'spa'"),
        (("{code: E001, ", "{code: 'E:1', "), "':'"),
        (("{code: E001, name: Example Machinery Co.}", "{code: E001}"), "name: None is empty"),
        (("{code: P001, ", "{code: '', "), "code: '' is empty"),
        (("{code: P001, ", "{code: " + "P" * 41 + ", "), "longer than 40"),
    ],
)
def test_a_scenario_with_a_bad_employer_or_institution_is_refused_before_replay(
    tmp_path: Path, change: tuple[str, str], says: str
) -> None:
    scenario = (EXAMPLES / "01_medical_left_out.yaml").read_text(encoding="utf-8")
    assert change[0] in scenario
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario.replace(*change, 1), encoding="utf-8")
    done = yibao(tmp_path / "x.db", "scenario", "run", str(path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert says in done.stderr


def test_a_deposit_near_the_fen_maximum_is_refused_not_overflowed(shop: Path) -> None:
    said = refused(
        shop,
        "card",
        "deposit",
        PERSON,
        "--amount",
        "92233720368547758.07",
        "--ref",
        "D1",
        "--on",
        "2024-05-04",
    )
    assert "beyond its maximum" in said


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://postgres:secret@127.0.0.1:5999/x", "cannot be opened"),
        ("mysql://user@localhost/x", "not a SQLite or PostgreSQL URL"),
        ("not a url", "is not a database URL"),
        ("sqlite:////no/such/folder/yibao.db", "folder that does not exist"),
    ],
)
def test_an_unknown_or_unreachable_database_url_is_refused_in_one_line(url: str, says: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "yibao.entrypoints.cli.main", "ledger", "check", "--db", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=TEST_DATABASE_ENV,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert says in done.stderr
    assert "secret" not in done.stderr
    assert not Path("/no/such/folder").exists()


@pytest.fixture
def pg_url() -> Iterator[tuple[str, Engine]]:
    """A fresh PostgreSQL schema, and a --db URL whose connections see only that schema."""
    require_postgres()
    with scratch_database(PG_URL) as engine:
        with engine.connect() as connection:
            schema = connection.execute(text("select current_schema()")).scalar_one()
        yield f"{PG_URL}?options=-csearch_path%3D{schema}", engine


def yibao_at(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yibao.entrypoints.cli.main", *args, "--db", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=TEST_DATABASE_ENV,
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("employer", "add", "E" * 41, "Example Co.", "--area", "420100"), "longer than 40"),
        (("employer", "add", "E001", "N" * 201, "--area", "420100"), "longer than 200"),
        (("person", "add", PERSON, "N" * 101, "--area", "420100"), "longer than 100"),
        (("institution", "add", "P:1", "Clinic", "clinic", "--area", "420100"), "':'"),
    ],
)
def test_a_value_longer_than_its_postgresql_column_is_one_line_not_a_data_error(
    pg_url: tuple[str, Engine], args: tuple[str, ...], says: str
) -> None:
    url, engine = pg_url
    scenario = str(EXAMPLES / "01_medical_left_out.yaml")
    assert yibao_at(url, "area", "load", scenario).returncode == 0
    done = yibao_at(url, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert says in done.stderr
    with engine.connect() as connection:
        assert connection.execute(text("select count(*) from area")).scalar_one() == 1
        for table in ("employer", "person", "institution"):
            assert connection.execute(text(f"select count(*) from {table}")).scalar_one() == 0
