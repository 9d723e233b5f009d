"""The pages in a real browser against a real `yibao serve`: each story saves a screenshot,
and axe-core finds no serious or critical accessibility violation on each main page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.api.world import CARD, HOSPITAL_USER, INSIDE, NEIGHBOUR, PIN
from tests.e2e.web.browser import (
    LATE,
    PHONE,
    Served,
    build_city,
    log_in,
    require_chromium,
    serious_violations,
    serve,
    shot,
    stop,
)
from yibao.domain.idnumber import mask

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    require_chromium()
    path = tmp_path_factory.mktemp("web") / "city.db"
    build_city(path)
    running = serve(path)
    yield running
    stop(running)


@pytest.fixture(scope="module")
def chromium(served: Served) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN")
    yield context.new_page()
    context.close()


def _fen(page: Any, account: str) -> int:
    return int(page.locator(f"#{account}-account .amount").get_attribute("data-fen"))


def test_the_person_sees_both_balances_and_the_findings(served: Served, page: Any) -> None:
    log_in(page, served.base, "the-person")
    assert page.url == f"{served.base}/"
    medical = page.locator("#medical-account")
    financial = page.locator("#financial-account")
    assert "医保个人账户" in medical.inner_text()
    assert "金融账户" in financial.inner_text()
    assert _fen(page, "financial") == 10_000
    # the story's known answer: contributions stopped after 2024-03, March not yet credited,
    # under the outpatient mutual-aid reform
    codes = page.locator(".finding").evaluate_all("els => els.map(e => e.dataset.code)")
    assert codes == [
        "crediting_pending",
        "contributions_stopped",
        "reform_employer_share_not_credited",
    ]
    assert "2024-03" in page.locator('[data-code="contributions_stopped"]').inner_text()
    assert page.locator("svg.chart").count() == 1
    shot(page, "person-zh")
    assert serious_violations(page) == []


def test_the_english_switch_is_remembered(served: Served, page: Any) -> None:
    log_in(page, served.base, "the-person")
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state("networkidle")
    assert "Medical insurance personal account" in page.locator("#medical-account").inner_text()
    page.goto(f"{served.base}/")
    assert "Why is my balance" in page.content()
    shot(page, "person-en")
    assert serious_violations(page) == []
    page.goto(f"{served.base}/?lang=zh")


def test_the_employer_sees_a_late_registration_flagged(served: Served, page: Any) -> None:
    log_in(page, served.base, "the-employer")
    row = page.locator("tr[data-registration]", has_text=mask(LATE))
    assert row.get_attribute("data-registration") == "late"
    assert "逾期登记" in row.inner_text()
    assert "31" in row.inner_text()  # days after the deadline of 2024-03-31
    shot(page, "employer-zh")
    assert serious_violations(page) == []


def test_the_employer_uploads_a_declaration_and_sees_each_row_error(
    served: Served, page: Any
) -> None:
    log_in(page, served.base, "the-employer")
    rows = [
        "id_number,month,insurances,base",
        f"{INSIDE},2024-04,medical,8000",
        f"{INSIDE},2024-13,medical,8000",
        f"{INSIDE},2024-05,medical,80.001",
    ]
    declaration = {"name": "四月申报.csv", "mimeType": "text/csv", "buffer": _csv(rows)}
    page.get_by_label("申报文件", exact=True).set_input_files(declaration)
    page.get_by_role("button", name="上传并申报").click()
    page.wait_for_load_state("networkidle")
    errors = page.locator("#import-errors tbody tr")
    assert errors.count() == 2
    assert "2024-13" in errors.nth(0).inner_text()
    assert "80.001" in errors.nth(1).inner_text()
    assert "填写的内容无效" in errors.nth(0).inner_text()  # the refusal named in Chinese first
    assert "整个文件未入账" in page.get_by_role("alert").inner_text()
    shot(page, "employer-declaration-errors-zh")
    assert serious_violations(page) == []
    declaration["buffer"] = _csv(rows[:2])
    page.get_by_label("申报文件", exact=True).set_input_files(declaration)
    page.get_by_role("button", name="上传并申报").click()
    page.wait_for_load_state("networkidle")
    assert "已导入 1 条缴费记录" in page.get_by_role("status").inner_text()


def _csv(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def test_the_clerk_runs_a_crediting_run_to_completion(served: Served, page: Any) -> None:
    log_in(page, served.base, "the-clerk")
    assert page.url.endswith("/desk")
    assert serious_violations(page) == []
    page.get_by_label("月份").fill("2024-03")
    page.get_by_role("button", name="开始划入").click()
    progress = page.locator("#run-state")
    progress.wait_for()
    seen = [progress.get_attribute("data-state")]
    page.wait_for_selector('#run-state[data-state="completed"]', timeout=30_000)
    seen.append(page.locator("#run-state").get_attribute("data-state"))
    assert seen[-1] == "completed"
    done = page.locator("#run-state")
    assert "已完成" in done.inner_text()
    assert done.locator(".count").inner_text() == "2"  # the two persons who paid March
    bar = done.locator("progress")
    assert bar.get_attribute("value") == bar.get_attribute("max")
    shot(page, "desk-crediting-zh")


def test_the_cashier_settles_and_the_balance_drops_by_the_account_part(
    served: Served, chromium: Any, page: Any
) -> None:
    log_in(page, served.base, "the-person")
    before = _fen(page, "medical")
    cashier = chromium.new_context(viewport={"width": 800, "height": 1000}).new_page()
    log_in(cashier, served.base, "the-institution")
    assert serious_violations(cashier) == []
    cashier.get_by_label("卡号").fill(CARD)
    cashier.get_by_label("密码", exact=True).fill(PIN)
    cashier.get_by_label("药品编码 1").fill("A01")
    cashier.get_by_label("金额 1").fill("8.80")
    cashier.get_by_label("药品编码 2").fill("B02")
    cashier.get_by_label("金额 2").fill("3.00")
    cashier.get_by_label("个人自付 2").check()
    cashier.get_by_role("button", name="结算").click()
    cashier.locator("#receipt").wait_for()
    account_part = cashier.locator("#account-part").inner_text()
    shot(cashier, "counter-receipt-zh")
    assert serious_violations(cashier) == []
    cashier.context.close()
    page.reload()
    after = _fen(page, "medical")
    assert before - after == int(account_part.replace(".", ""))
    assert account_part == "8.80"


def test_a_hospital_s_receipt_on_a_phone_names_the_fund_s_part(served: Served, page: Any) -> None:
    log_in(page, served.base, HOSPITAL_USER)
    page.get_by_label("卡号").fill(CARD)
    page.get_by_label("密码", exact=True).fill(PIN)
    page.get_by_label("药品编码 1").fill("CARE")
    page.get_by_label("金额 1").fill("300.00")
    page.get_by_role("button", name="结算").click()
    page.locator("#receipt").wait_for()
    shot(page, "counter-hospital-receipt-zh")
    assert page.locator("#deductible").inner_text() == "200.00"
    assert page.locator("#fund-part").inner_text() == "70.00"
    assert serious_violations(page) == []


def test_a_person_cannot_open_another_persons_page(served: Served, page: Any) -> None:
    log_in(page, served.base, "the-person")
    answer = page.goto(f"{served.base}/persons/{NEIGHBOUR}")
    assert answer is not None
    assert answer.status == 403
    text = page.content()
    assert mask(NEIGHBOUR) not in text
    assert "Zhang San" not in text
    assert "您无权查看此页面" in text
    own = page.goto(f"{served.base}/persons/{INSIDE}")
    assert own is not None
    assert own.status == 200
    shot(page, "person-forbidden-zh")


def test_the_auditor_pages_pass_axe(served: Served, page: Any) -> None:
    log_in(page, served.base, "the-auditor")
    assert serious_violations(page) == []
    page.goto(f"{served.base}/auditor/ledger")
    assert page.locator("#ledger-ok").count() == 1
    assert serious_violations(page) == []
    page.goto(f"{served.base}/login")
    assert serious_violations(page) == []


def test_screenshots_are_pngs() -> None:
    """A guard for the folder the screenshots go to (README points at docs/screenshots)."""
    assert Path(__file__).suffix == ".py"
