"""A contributions file judged in chunks meets what lies in other chunks (its earlier rows,
their references, the payments recorded): one row a chunk refuses exactly what one chunk does."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
import yaml
from sqlalchemy import select

from tests.integration.test_imports import PEOPLE, city, count, good_month, rows, run
from tests.scenario_files import EXAMPLES
from yibao.adapters.tables import Contribution, LedgerTransfer
from yibao.bootstrap import App
from yibao.domain.errors import InvalidInput
from yibao.domain.idnumber import make_id_number
from yibao.domain.months import Month
from yibao.ledger.check import check_ledger
from yibao.services import registry
from yibao.services.contributions import ContributionCmd, record_contribution
from yibao.services.imports import contribution_rows

__all__ = ["city"]  # the fixture, shared with the import tests

HEADER = ["id_number", "month", "insurances", "base", "received_on", "ref"]
LINES = [
    [PEOPLE[0], "2024-02", "medical", "8000", "2024-02-20", "A-1"],  # good
    [PEOPLE[1], "2024-02", "medical", "8000", "2024-02-20", "A-1"],  # repeats row 2's ref
    [PEOPLE[0], "2024-02", "pension,medical", "8000", "2024-02-21", ""],  # repeats row 2
    [PEOPLE[0], "2024-02", "pension", "8000", "2024-02-22", ""],  # repeats row 4's pension
    [PEOPLE[2], "2024-03", "medical", "8000", "2024-03-20", "PAID-1"],  # ref recorded otherwise
    [PEOPLE[3], "2024-02", "medical,pension", "8000", "2024-02-20", ""],  # paid already
    [PEOPLE[3], "2024-03", "medical", "8000", "2024-03-20", ""],  # good
]


def judged(app: App) -> list[tuple[int, str, str]]:
    outcome, errors = run(app, "contributions", rows(*LINES, header=HEADER))
    assert outcome is None
    return sorted((e.row, e.field, e.reason) for e in errors)


def test_one_row_a_chunk_refuses_what_one_chunk_refuses(
    city: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    with city.uow() as uow:
        for person, key in ((PEOPLE[3], None), (PEOPLE[2], "PAID-1")):
            record_contribution(
                uow=uow,
                cmd=ContributionCmd(
                    id_number=person,
                    received_on=dt.date(2024, 2, 5),
                    insurances=("medical",),
                    month=Month(2024, 2),
                    base_fen=800_000,
                    key=key,
                ),
            )
    whole = judged(city)
    monkeypatch.setattr(contribution_rows, "CHUNK", 1)
    assert judged(city) == whole
    assert [(row, field) for row, field, _ in whole] == [
        (3, "ref"),
        (4, "id_number"),
        (5, "id_number"),
        (6, ""),
        (7, ""),
    ]
    reasons = {row: reason for row, _, reason in whole}
    assert "repeats row 2" in reasons[3]
    assert "repeats row 2" in reasons[4]
    assert "repeats row 4" in reasons[5]
    assert "other content" in reasons[6]
    assert "already_paid" in reasons[7]


def test_a_file_written_chunk_by_chunk_is_written_whole_once(
    city: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk is written while the next is judged: every row lands once, with its transfer."""
    monkeypatch.setattr(contribution_rows, "CHUNK", 1)
    later = [[p, "2024-03", "medical", "9000.00", "2024-03-20"] for p in PEOPLE]
    outcome, errors = run(city, "contributions", rows(*good_month(), *later))
    assert errors == []
    assert outcome is not None
    assert outcome.rows == 8
    with city.uow() as uow:
        ids = uow.session.scalars(select(Contribution.id)).all()
        keys = uow.session.scalars(select(LedgerTransfer.key)).all()
        assert len(ids) == 8
        assert sorted(keys) == sorted(f"contribution:{i}" for i in ids)
        assert check_ledger(uow.ledger) == []


def test_a_refusal_in_a_later_chunk_leaves_nothing_of_the_chunks_written_before(
    city: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chunks before it were written; the refusal rolls them back with the file."""
    monkeypatch.setattr(contribution_rows, "CHUNK", 1)
    unknown = make_id_number("420102", dt.date(1970, 1, 1), 9)
    bad = [unknown, "2024-02", "medical", "8000", "2024-02-20"]
    outcome, errors = run(city, "contributions", rows(*good_month(), bad))
    assert outcome is None
    assert [(e.row, e.field) for e in errors] == [(6, "id_number")]
    assert count(city, Contribution) == 0
    assert count(city, LedgerTransfer) == 0


def test_memo_keeps_no_refusal() -> None:
    """A value refused once is refused again with the same error, not taken from the memo."""
    months = contribution_rows._Memo(Month.parse)
    for _ in range(2):
        with pytest.raises(InvalidInput, match="YYYY-MM"):
            months("2024/02")
    assert months("2024-02") is months("2024-02")


def test_two_areas_in_one_file_are_each_priced_under_their_own_policy(city: App) -> None:
    """A province's migration file: the same month, base and age in two areas whose policies
    differ are priced twice, each as the single payment command prices it there."""
    document = yaml.safe_load((EXAMPLES / "01_medical_left_out.yaml").read_text())["area"]
    other = copy.deepcopy(document)
    other["code"], other["name"] = "420200", "Other City"
    for policy in other["policies"]:
        policy["employee"]["employee_rate"] = 0.03
    elsewhere = make_id_number("420202", dt.date(1980, 3, 7), 7)  # PEOPLE[0]'s birthday
    with city.uow() as uow:
        registry.load_area(uow=uow, document=other)
        registry.add_employer(uow=uow, code="E201", name="Other Co.", area_code="420200")
        registry.add_person(uow=uow, id_number=elsewhere, name="Q", area_code="420200")
        registry.register_employee(
            uow=uow, id_number=elsewhere, employer_code="E201", on=dt.date(2024, 1, 10)
        )
    line = ["2024-02", "medical", "8000.00", "2024-02-20"]
    outcome, errors = run(city, "contributions", rows([PEOPLE[0], *line], [elsewhere, *line]))
    assert errors == []
    assert outcome is not None
    with city.uow() as uow:
        found = uow.session.execute(select(Contribution.area_code, Contribution.medical_person_fen))
        paid = dict(found.all())
    assert paid == {"420100": 16_000, "420200": 24_000}
