"""`yibao institution credentials CODE [--rotate] --json`: the gateway credentials an
institution's HIS signs the national interface's requests with. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.e2e.api.world import settings_for
from tests.e2e.national.client import Client
from tests.e2e.test_cli_audit import yibao
from tests.scenario_files import EXAMPLES
from yibao.adapters.db import make_engine, upgrade
from yibao.adapters.tables import NationalSignIn
from yibao.bootstrap import App
from yibao.entrypoints.api.app import create_app
from yibao.services import registry


def credentials(url: str, code: str, *options: str) -> dict[str, str]:
    done = yibao(url, "institution", "credentials", code, "--json", *options)
    assert done.returncode == 0, done.stderr
    found: dict[str, str] = json.loads(done.stdout)
    return found


def sign_ins(app: App) -> int:
    with app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(NationalSignIn)) or 0


def a_pharmacy_in(url: str) -> App:
    """The database at `url` with an area and pharmacy P001, recorded in-process: only the
    credentials command is the CLI's here (each CLI run is a process of its own)."""
    app = App(make_engine(url))
    upgrade(app.engine)
    area = yaml.safe_load((EXAMPLES / "01_medical_left_out.yaml").read_text())["area"]
    with app.uow() as uow:
        registry.load_area(uow=uow, document=area)
        registry.add_institution(
            uow=uow, code="P001", name="Example Pharmacy", kind="pharmacy", area_code="420100"
        )
    return app


def test_credentials_sign_requests_until_rotated(empty_database_url: str) -> None:
    url = empty_database_url
    app = a_pharmacy_in(url)
    first = credentials(url, "P001")
    assert set(first) == {"paasid", "token"}
    assert first["paasid"].startswith("P001")
    assert len(first["token"]) == 64
    assert credentials(url, "P001") == first  # issued once, then shown again

    with TestClient(create_app(app, settings_for(app))) as http:
        his = Client(app, http, "P001")
        assert (his.paasid, his.token) == (first["paasid"], first["token"])
        his.sign_in()  # signed with the printed token: answered

        rotated = credentials(url, "P001", "--rotate")
        assert rotated["paasid"] == first["paasid"]
        assert rotated["token"] != first["token"]
        refused = his.send(his.envelope("9001", {"signIn": {"opter_no": "001"}}))
        assert refused.status_code == 401  # the old token signs nothing more
        assert "x-tif-signature" in refused.json()["err_msg"]
        assert sign_ins(app) == 1
        his.token = rotated["token"]
        his.sign_in()
    app.engine.dispose()


def test_credentials_of_an_unknown_institution_are_refused_naming_it(
    empty_database_url: str,
) -> None:
    done = yibao(empty_database_url, "institution", "credentials", "P404", "--json")
    assert done.returncode == 2
    assert done.stdout == ""  # no JSON a script could mistake for credentials
    assert "no designated institution with code 'P404'" in done.stderr
