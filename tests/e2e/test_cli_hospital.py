"""A hospital's cashier by CLI: the patient's e-voucher, a stay the pooled fund pays, the
receipt's three parts, a refund, the day's statement; and the replay's JSON settlements."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.e2e.cli import yibao
from tests.scenario_files import EXAMPLES

RETIREE = "420102195503070019"  # examples/scenarios/09


@pytest.fixture
def story(tmp_path: Path) -> Path:
    db = tmp_path / "story.db"
    done = yibao(db, "scenario", "run", str(EXAMPLES / "09_retiree_in_hospital.yaml"), "--json")
    assert done.returncode == 0, done.stderr
    replayed = json.loads(done.stdout)
    assert replayed["ok"]
    assert [s["ref"] for s in replayed["settlements"]] == [
        "IP-0901", "OP-0902", "OP-0903", "OP-0904",
    ]  # fmt: skip
    assert replayed["settlements"][0] | {"expect": None} == {
        "ref": "IP-0901", "total": "5000.00", "fund_paid": "3627.00", "account_paid": "180.00",
        "cash_paid": "1193.00", "refunded": False, "expect": None, "ok": True, "failures": [],
    }  # fmt: skip
    assert replayed["settlements"][1]["refunded"] is True
    return db


def test_a_stay_is_settled_with_the_e_voucher_and_the_receipt_shows_each_part(
    story: Path,
) -> None:
    issued = yibao(story, "evoucher", "issue", RETIREE, "--json")
    assert issued.returncode == 0, issued.stderr
    voucher = json.loads(issued.stdout)
    assert set(voucher) == {"token", "expires_at"}
    expires = dt.datetime.fromisoformat(voucher["expires_at"].replace("Z", "+00:00"))
    assert dt.timedelta(0) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(seconds=300)

    settle = (
        "pos", "settle", "--institution", "H002", "--ref", "IP-E1", "--evoucher",
        voucher["token"], "--visit", "inpatient", "--patient", RETIREE,
        "--item", "CARE:1:1300.00", "--item", "ROOM:1:20.00:own", "--day", "2023-04-20",
    )  # fmt: skip
    done = yibao(story, *settle)
    assert done.returncode == 0, done.stderr
    for row in (
        "visit",
        "inpatient",
        "deductible applied",
        "600.00",
        "pooled fund ratio",
        "0.93",
        "pooled fund paid",
        "651.00",
        "paid by the person (cash)",
        "669.00",
    ):  # fmt: skip  - level 2: (1300 - 600) x (0.88 + 0.05); 649.00 + 20.00 outside
        assert row in done.stdout, done.stdout

    again = yibao(story, *settle[:5], "IP-E2", *settle[6:])
    assert again.returncode == 1
    assert "evoucher_used" in again.stderr + again.stdout

    refunded = yibao(story, "pos", "refund", "--ref", "IP-E1", "--day", "2023-04-21")
    assert refunded.returncode == 0, refunded.stderr
    assert "651.00 yuan to the pooled fund" in refunded.stdout

    statement = yibao(story, "pos", "statement", "--institution", "H002", "--day", "2023-04-20")
    assert statement.returncode == 0, statement.stdout
    assert "pooled fund total" in statement.stdout
    assert "651.00" in statement.stdout
    checked = yibao(story, "ledger", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_an_institution_level_outside_1_to_3_is_refused(story: Path) -> None:
    done = yibao(story, "institution", "add", "H9", "Nine", "hospital", "--area", "420100",
                 "--level", "4")  # fmt: skip
    assert done.returncode == 2
    assert "level" in done.stderr + done.stdout


def test_a_suspended_e_voucher_is_not_issued(story: Path) -> None:
    assert yibao(story, "evoucher", "suspend", RETIREE).returncode == 0
    refused = yibao(story, "evoucher", "issue", RETIREE, "--json")
    assert refused.returncode == 1
    assert "evoucher_suspended" in refused.stderr + refused.stdout
    assert yibao(story, "evoucher", "resume", RETIREE).returncode == 0
    assert yibao(story, "evoucher", "issue", RETIREE, "--json").returncode == 0
