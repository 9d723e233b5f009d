"""Bulk imports through the service, on SQLite and PostgreSQL: all or nothing, every bad row
reported, the same file twice doubles nothing."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from tests.scenario_files import EXAMPLES
from yibao.adapters.tables import Contribution, Employment, ImportBatch, LedgerTransfer, Person
from yibao.bootstrap import App
from yibao.domain.errors import YibaoError
from yibao.domain.idnumber import make_id_number
from yibao.domain.months import Month
from yibao.ledger.check import check_ledger
from yibao.services import imports, registry
from yibao.services.contributions import ContributionCmd, record_contribution
from yibao.services.imports import ImportOutcome, ImportRefused, RowError, contribution_rows

AREA = "420100"
PEOPLE = [make_id_number("420102", dt.date(1980 + i, 3, 7), i + 1) for i in range(4)]
BAD_CHECKSUM = PEOPLE[0][:17] + ("0" if PEOPLE[0][17] != "0" else "1")
HEADER = ["id_number", "month", "insurances", "base", "received_on"]


@pytest.fixture
def city(app: App) -> App:
    """An area, employer E001 with the four people registered, employer E002 with none."""
    document = yaml.safe_load((EXAMPLES / "01_medical_left_out.yaml").read_text())
    with app.uow() as uow:
        registry.load_area(uow=uow, document=document["area"])
        registry.add_employer(uow=uow, code="E001", name="Example Co.", area_code=AREA)
        registry.add_employer(uow=uow, code="E002", name="Other Co.", area_code=AREA)
        for n, number in enumerate(PEOPLE):
            registry.add_person(uow=uow, id_number=number, name=f"P{n}", area_code=AREA)
            registry.register_employee(
                uow=uow, id_number=number, employer_code="E001", on=dt.date(2024, 1, 10)
            )
    return app


def rows(*lines: list[str], header: list[str] = HEADER) -> list[tuple[int, dict[str, str]]]:
    return [(n, dict(zip(header, line, strict=True))) for n, line in enumerate(lines, start=2)]


def run(
    app: App, kind: str, given: Iterable[tuple[int, dict[str, str]]], digest: str = "f1", **kw: Any
) -> tuple[ImportOutcome | None, list[RowError]]:
    errors: list[RowError] = []
    try:
        with app.uow() as uow:
            outcome = imports.import_rows(
                uow=uow,
                kind=kind,
                rows=given,
                content_sha256=digest,
                file_name="file.csv",
                refuse=errors.append,
                **kw,
            )
    except ImportRefused:
        return None, errors
    return outcome, errors


def count(app: App, what: Any) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(what)) or 0)


def good_month() -> list[list[str]]:
    return [[p, "2024-02", "pension,medical", "8000.00", "2024-02-20"] for p in PEOPLE]


def test_a_good_contributions_file_is_applied_with_its_ledger_transfers(city: App) -> None:
    outcome, errors = run(city, "contributions", rows(*good_month()))
    assert errors == []
    assert outcome is not None
    assert outcome.rows == 4
    assert count(city, Contribution) == 4
    with city.uow() as uow:
        keys = uow.session.scalars(select(LedgerTransfer.key)).all()
        ids = uow.session.scalars(select(Contribution.id)).all()
        assert sorted(keys) == sorted(f"contribution:{i}" for i in ids)
        assert check_ledger(uow.ledger) == []


def test_the_file_prices_as_the_single_payment_command_does(city: App, app: App) -> None:
    run(city, "contributions", rows(good_month()[0]))
    with city.uow() as uow:
        imported = uow.session.scalars(select(Contribution)).one()
        figures = (imported.base_fen, imported.medical_employer_fen, imported.credit_fen)
    with city.uow() as uow:
        receipt = record_contribution(
            uow=uow,
            cmd=ContributionCmd(
                id_number=PEOPLE[1],
                received_on=dt.date(2024, 2, 20),
                insurances=("pension", "medical"),
                month=Month(2024, 2),
                base_fen=800_000,
            ),
        )
    assert figures == (receipt.base_fen, receipt.medical_employer_fen, receipt.credit_fen)


def test_bad_rows_are_each_reported_and_nothing_is_written(city: App) -> None:
    with city.uow() as uow:
        record_contribution(
            uow=uow,
            cmd=ContributionCmd(
                id_number=PEOPLE[3],
                received_on=dt.date(2024, 2, 5),
                insurances=("medical",),
                month=Month(2024, 2),
                base_fen=800_000,
            ),
        )
    lines = [
        [PEOPLE[0], "2024-02", "medical", "8000", "2024-02-20"],  # good
        [BAD_CHECKSUM, "2024-02", "medical", "8000", "2024-02-20"],
        [PEOPLE[1], "2024-02", "medical", "12.345", "2024-02-20"],
        [PEOPLE[2], "2024-13", "medical", "8000", "2024-02-20"],
        [PEOPLE[0], "2024-02", "medical", "8000", "2024-02-21"],  # repeats row 2
        [PEOPLE[3], "2024-02", "medical,pension", "8000", "2024-02-20"],  # paid already
        [make_id_number("420102", dt.date(1970, 1, 1), 9), "2024-02", "medical", "1", ""],
    ]
    outcome, errors = run(city, "contributions", rows(*lines))
    assert outcome is None
    found = {(e.row, e.field): e for e in errors}
    assert set(found) == {
        (3, "id_number"),
        (4, "base"),
        (5, "month"),
        (6, "id_number"),
        (7, ""),
        (8, "id_number"),
    }, errors
    assert found[(3, "id_number")].value == BAD_CHECKSUM
    assert "check character" in found[(3, "id_number")].reason
    assert found[(4, "base")].value == "12.345"
    assert "repeats row 2" in found[(6, "id_number")].reason
    assert "already_paid" in found[(7, "")].reason
    assert "unknown_person" in found[(8, "id_number")].reason
    assert count(city, Contribution) == 1
    assert count(city, ImportBatch) == 0


def test_the_same_file_again_doubles_nothing(city: App) -> None:
    first, _ = run(city, "contributions", rows(*good_month()), digest="same")
    again, errors = run(city, "contributions", rows(*good_month()), digest="same")
    assert first is not None
    assert not first.already_imported
    assert again is not None
    assert again.already_imported
    assert errors == []
    assert count(city, Contribution) == 4
    assert count(city, LedgerTransfer) == 4


def test_a_changed_file_repeating_recorded_payments_skips_them_as_retries(city: App) -> None:
    run(city, "contributions", rows(*good_month()[:2]), digest="a")
    outcome, errors = run(city, "contributions", rows(*good_month()), digest="b")
    assert errors == []
    assert outcome is not None
    assert count(city, Contribution) == 4
    assert count(city, LedgerTransfer) == 4


def test_an_employer_declares_its_own_employees_only(city: App) -> None:
    outcome, errors = run(city, "contributions", rows(*good_month()), employer_code="E002")
    assert outcome is None
    assert len(errors) == 4
    assert all(e.outside_scope for e in errors)
    outcome, errors = run(city, "contributions", rows(*good_month()), employer_code="E001")
    assert outcome is not None
    assert errors == []


def test_persons_employers_and_employment_files(app: App) -> None:
    document = yaml.safe_load((EXAMPLES / "01_medical_left_out.yaml").read_text())
    with app.uow() as uow:
        registry.load_area(uow=uow, document=document["area"])
    employers = rows(
        ["E9", "Nine Co.", AREA], ["E9", "Nine Co.", AREA], header=["code", "name", "area"]
    )
    outcome, errors = run(app, "employers", employers)
    assert outcome is None
    assert [(e.row, e.field) for e in errors] == [(3, "code")]
    outcome, errors = run(app, "employers", employers[:1])
    assert outcome is not None
    people = rows(
        [PEOPLE[0], "Zhang", AREA],
        [BAD_CHECKSUM, "Wang", AREA],
        [PEOPLE[1], "Li", "999999"],
        header=["id_number", "name", "area"],
    )
    outcome, errors = run(app, "persons", people)
    assert outcome is None
    assert [(e.row, e.field) for e in errors] == [(3, "id_number"), (4, "area")]
    assert count(app, Person) == 0
    outcome, errors = run(app, "persons", people[:1])
    assert outcome is not None
    assert count(app, Person) == 1
    jobs = rows(
        [PEOPLE[0], "E9", "2024-01-02", "2024-01-10"],
        header=["id_number", "employer", "hired_on", "registered_on"],
    )
    outcome, errors = run(app, "employment", jobs, employer_code="E8")
    assert outcome is None
    assert errors[0].outside_scope
    outcome, errors = run(app, "employment", jobs)
    assert outcome is not None
    assert errors == []
    assert count(app, Employment) == 1


def test_a_payment_recorded_while_the_file_is_applied_is_not_paid_twice(
    city: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file has judged its rows; before it writes them, a clerk records one of them alone.

    The import holds the payers' rows, so the clerk's payment waits and then finds the month
    paid (`already_paid`); without that lock both would be written.
    """
    judged = threading.Event()
    apply = contribution_rows._apply

    def slow_apply(*args: Any) -> None:
        judged.set()
        time.sleep(0.8)  # the clerk's payment starts inside this window
        apply(*args)

    monkeypatch.setattr(contribution_rows, "_apply", slow_apply)
    outcomes: list[str] = []

    def clerk() -> None:
        judged.wait(10)
        try:
            with city.uow() as uow:
                record_contribution(
                    uow=uow,
                    cmd=ContributionCmd(
                        id_number=PEOPLE[0],
                        received_on=dt.date(2024, 2, 21),
                        insurances=("medical",),
                        month=Month(2024, 2),
                        base_fen=800_000,
                        key="desk-1",
                    ),
                )
            outcomes.append("recorded")
        except YibaoError as error:
            outcomes.append(error.code)

    thread = threading.Thread(target=clerk)
    thread.start()
    outcome, errors = run(city, "contributions", rows(*good_month()))
    thread.join(20)
    assert errors == []
    assert outcome is not None
    assert outcomes == ["already_paid"]
    assert count(city, Contribution) == 4
