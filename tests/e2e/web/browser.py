"""A real `yibao serve` on a free port over a SQLite file holding the API tests' city, and a
Debian Chromium driven by Playwright; the browser tests skip where /usr/bin/chromium is
absent, except in CI, where they must run."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.e2e.api.test_serve import free_port
from tests.e2e.api.world import INSIDE, NEIGHBOUR, PASSWORD, build_world
from yibao.adapters.db import make_engine, upgrade
from yibao.bootstrap import App
from yibao.domain.idnumber import make_id_number
from yibao.domain.months import Month
from yibao.services import registry
from yibao.services.contributions import ContributionCmd, record_contribution

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent.parent / "vendor" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
LATE = make_id_number("420102", dt.date(1992, 3, 4), 21)  # hired 2024-03-01, registered late
SCREENSHOTS = Path(os.environ.get("YIBAO_SCREENSHOTS", "/tmp/yibao-screenshots"))


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: CI installs Debian's chromium (.ci/run)")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")


@dataclass
class Served:
    base: str
    process: subprocess.Popen[str]


def build_city(path: Path) -> None:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    app = App(engine)
    build_world(app)
    with app.uow() as uow:
        registry.add_person(uow=uow, id_number=LATE, name="Li Si", area_code="420100")
        registry.hire(uow=uow, id_number=LATE, employer_code="E001", on=dt.date(2024, 3, 1))
        # Social Insurance Law art. 58: within 30 days; this is 61 days after hiring
        registry.register_employee(
            uow=uow, id_number=LATE, employer_code="E001", on=dt.date(2024, 5, 1)
        )
        # March paid, not yet credited: the clerk's crediting run has persons to credit
        for number in (INSIDE, NEIGHBOUR):
            record_contribution(
                uow=uow,
                cmd=ContributionCmd(
                    id_number=number,
                    received_on=dt.date(2024, 3, 15),
                    insurances=("medical", "pension"),
                    month=Month(2024, 3),
                    base_fen=800_000,
                ),
            )
    engine.dispose()


def serve(path: Path) -> Served:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "yibao.entrypoints.cli.main",
            "serve",
            "--db",
            f"sqlite:///{path}",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "YIBAO_ENV": "development"},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx2.get(f"{base}/api/v1/health", timeout=5)
            return Served(base, process)
        except httpx2.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(process.stderr.read() if process.stderr else "") from None
            time.sleep(0.2)


def stop(served: Served) -> None:
    served.process.send_signal(signal.SIGTERM)
    try:
        served.process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        served.process.kill()


def log_in(page: Any, base: str, user: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def serious_violations(page: Any) -> list[str]:
    """axe-core in the page: the serious and critical violations, one line each."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v.get("impact") in ("serious", "critical")
    ]
