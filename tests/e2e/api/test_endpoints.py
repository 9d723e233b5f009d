"""The API's endpoints on SQLite and PostgreSQL: what each answers, idempotency, problem+json."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid

from tests.e2e.api.world import CARD, HOSPITAL, INSIDE, NEIGHBOUR, PASSWORD, PIN, World
from yibao.domain.idnumber import make_id_number
from yibao.domain.money import yuan_to_fen
from yibao.services import accounts
from yibao.services.accounts import Role

ADMIN, CLERK, INSTITUTION = Role.ADMIN, Role.CLERK, Role.INSTITUTION
API = "/api/v1"


def sale(ref: str, amount: str = "12.30") -> dict[str, object]:
    return {
        "institution": "P001",
        "ref": ref,
        "items": [{"code": "DRUG-1", "quantity": 1, "amount": amount}],
        "card": CARD,
        "pin": PIN,
        "day": "2024-03-02",
    }


def test_health_answers_without_a_login(world: World) -> None:
    answer = world.client.get(f"{API}/health")

    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_a_request_without_a_token_is_401_as_problem_json(world: World) -> None:
    answer = world.client.get(f"{API}/persons/{INSIDE}/inquiry")

    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "invalid_token"
    assert answer.headers["www-authenticate"] == "Bearer"


def test_the_inquiry_answers_as_yibao_inquire_json_does(world: World) -> None:
    answer = world.client.get(
        f"{API}/persons/{INSIDE}/inquiry",
        params={"channel": "web", "as_of": "2024-03-10"},
        headers=world.headers(ADMIN),
    )

    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["medical_balance"] == found["shown_balance"]
    assert set(found) == {
        "person",
        "as_of",
        "channel",
        "medical_balance",
        "financial_balance",
        "shown_balance",
        "findings",
    }
    assert found["financial_balance"] == "100.00"
    for finding in found["findings"]:
        assert {"code", "summary", "evidence", "legal_basis", "next_step"} <= set(finding)


def test_a_settlement_retried_with_its_key_answers_the_first_receipt_and_posts_once(
    world: World,
) -> None:
    headers = world.headers(INSTITUTION, key=True)
    ref = uuid.uuid4().hex[:12]
    first = world.client.post(f"{API}/pos/settlements", json=sale(ref), headers=headers)
    again = world.client.post(f"{API}/pos/settlements", json=sale(ref), headers=headers)

    assert first.status_code == 201, first.text
    assert again.status_code == 201
    assert again.json() == first.json()
    transfers = world.client.get(
        f"{API}/persons/{INSIDE}/transfers", headers=world.headers(ADMIN)
    ).json()
    assert sum(1 for t in transfers if ref in t["memo"]) == 1


def test_the_same_key_with_another_body_is_409_and_writes_nothing(world: World) -> None:
    headers = world.headers(INSTITUTION, key=True)
    ref, other = uuid.uuid4().hex[:12], uuid.uuid4().hex[:12]
    world.client.post(f"{API}/pos/settlements", json=sale(ref), headers=headers)
    answer = world.client.post(f"{API}/pos/settlements", json=sale(other), headers=headers)

    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "idempotency_key_reused"
    statement = world.client.get(
        f"{API}/institutions/P001/statements/2024-03-02", headers=world.headers(INSTITUTION)
    ).json()
    transfers = world.client.get(
        f"{API}/persons/{INSIDE}/transfers", headers=world.headers(ADMIN)
    ).json()
    assert not any(other in t["memo"] for t in transfers)
    assert statement["reconciled"]


def test_the_receipt_names_the_visit_and_the_fund_s_terms(world: World) -> None:
    headers = world.headers(INSTITUTION, key=True)
    body = {**sale(uuid.uuid4().hex[:12]), "visit": "pharmacy"}
    answer = world.client.post(f"{API}/pos/settlements", json=body, headers=headers)

    assert answer.status_code == 201, answer.text
    receipt = answer.json()
    assert (receipt["visit"], receipt["deductible"], receipt["ratio"]) == ("pharmacy", "0.00", "0")
    assert receipt["fund_paid"] == "0.00"


def test_a_hospital_visit_is_paid_in_part_by_the_pooled_fund(world: World) -> None:
    """An outpatient visit at a level-1 hospital: the year's deductible (200.00), then 0.70
    of the rest from the pooled fund; the receipt names each."""
    body = {
        **sale(uuid.uuid4().hex[:12], amount="300.00"),
        "institution": HOSPITAL,
        "visit": "outpatient",
    }
    headers = world.headers(INSTITUTION, key=True, hospital=True)
    answer = world.client.post(f"{API}/pos/settlements", json=body, headers=headers)

    assert answer.status_code == 201, answer.text
    receipt = answer.json()
    assert (receipt["visit"], receipt["deductible"], receipt["ratio"]) == (
        "outpatient", "200.00", "0.7"
    )  # fmt: skip
    assert receipt["fund_paid"] == "70.00"
    paid = [receipt[part] for part in ("fund_paid", "personal_account_paid", "paid_by_person")]
    assert sum(yuan_to_fen(part) for part in paid) == 30_000


def test_an_unknown_visit_is_422_naming_the_field_and_writes_nothing(world: World) -> None:
    ref = uuid.uuid4().hex[:12]
    answer = world.client.post(
        f"{API}/pos/settlements",
        json={**sale(ref), "visit": "surgery"},
        headers=world.headers(INSTITUTION, key=True),
    )

    assert answer.status_code == 422
    assert answer.json()["field"] == "visit"
    transfers = world.client.get(
        f"{API}/persons/{INSIDE}/transfers", headers=world.headers(ADMIN)
    ).json()
    assert not any(ref in t["memo"] for t in transfers)


def test_a_deposit_retried_with_its_key_posts_once(world: World) -> None:
    headers = world.headers(Role.BANK, key=True)
    body = {"amount": "5.00", "ref": uuid.uuid4().hex[:12], "on": "2024-03-03"}
    path = f"{API}/persons/{INSIDE}/financial-account/deposits"
    first = world.client.post(path, json=body, headers=headers)
    again = world.client.post(path, json=body, headers=headers)

    assert first.status_code == 201, first.text
    assert again.json() == first.json()
    account = world.client.get(f"{API}/persons/{INSIDE}/financial-account", headers=headers)
    assert account.json()["balance"] == first.json()["balance"]


def test_a_money_moving_post_without_a_key_is_422_naming_the_header(world: World) -> None:
    answer = world.client.post(
        f"{API}/pos/settlements", json=sale("no-key"), headers=world.headers(INSTITUTION)
    )

    assert answer.status_code == 422
    assert answer.json()["field"] == "header.Idempotency-Key"


def test_bad_input_is_422_naming_the_field_and_writes_nothing(world: World) -> None:
    body = sale(uuid.uuid4().hex[:12], amount="1.234")
    answer = world.client.post(
        f"{API}/pos/settlements", json=body, headers=world.headers(INSTITUTION, key=True)
    )

    assert answer.status_code == 422
    problem = answer.json()
    assert problem["code"] == "invalid_input"
    assert problem["field"] == "items.0.amount"
    assert "1.234" in problem["detail"]


def test_a_malformed_id_number_is_422_and_an_unknown_one_404(world: World) -> None:
    headers = world.headers(ADMIN)
    malformed = world.client.get(f"{API}/persons/12345/inquiry", headers=headers)
    nobody = make_id_number("110101", dt.date(1990, 3, 7), 431)
    unknown = world.client.get(f"{API}/persons/{nobody}/inquiry", headers=headers)

    assert (malformed.status_code, malformed.json()["code"]) == (422, "invalid_input")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_person")


def test_a_refund_is_once_and_a_second_is_refused_with_its_code(world: World) -> None:
    ref = uuid.uuid4().hex[:12]
    world.client.post(
        f"{API}/pos/settlements", json=sale(ref), headers=world.headers(INSTITUTION, key=True)
    )
    path = f"{API}/pos/settlements/{ref}/refund"
    body = {"institution": "P001", "day": "2024-03-04"}
    first = world.client.post(path, json=body, headers=world.headers(INSTITUTION, key=True))
    second = world.client.post(path, json=body, headers=world.headers(INSTITUTION, key=True))

    assert first.status_code == 201, first.text
    assert (second.status_code, second.json()["code"]) == (409, "already_refunded")


def test_a_crediting_run_starts_with_202_and_its_progress_is_polled(world: World) -> None:
    answer = world.client.post(
        f"{API}/crediting-runs",
        json={"area": "420100", "month": "2024-03"},
        headers=world.headers(Role.CLERK, key=True),
    )

    assert answer.status_code == 202, answer.text
    started = answer.json()
    world.client.app.state.crediting_jobs.wait()  # type: ignore[attr-defined]
    polled = world.client.get(started["status_url"], headers=world.headers(CLERK))
    assert polled.status_code == 200
    assert polled.json()["state"] == "completed"
    assert polled.json()["run_id"] == "420100-2024-03"


def test_the_yearly_statement_is_a_pdf(world: World) -> None:
    answer = world.client.get(
        f"{API}/persons/{INSIDE}/statements/2024.pdf", headers=world.headers(Role.PERSON)
    )

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")


def test_an_employer_sees_only_what_it_paid_for_its_own_employees(world: World) -> None:
    own = world.client.get(
        f"{API}/persons/{INSIDE}/payment-records", headers=world.headers(Role.EMPLOYER)
    )
    other = world.client.get(
        f"{API}/persons/{NEIGHBOUR}/payment-records", headers=world.headers(Role.EMPLOYER)
    )

    assert own.status_code == 200, own.text
    assert own.json()
    assert all(line["paid_by"] == "Employer E001" for line in own.json())
    assert all(line["credit"] is None and line["credited_on"] is None for line in own.json())
    assert other.status_code == 403
    person = world.client.get(
        f"{API}/persons/{INSIDE}/payment-records", headers=world.headers(Role.PERSON)
    )
    assert {line["credit"] for line in person.json()} != {None}  # the person sees it


def test_reads_and_refusals_of_a_persons_data_are_in_the_audit_trail(world: World) -> None:
    world.client.get(f"{API}/persons/{NEIGHBOUR}/transfers", headers=world.headers(Role.PERSON))
    world.client.get(f"{API}/persons/{NEIGHBOUR}/transfers", headers=world.headers(ADMIN))
    entries = world.client.get(
        f"{API}/audit", params={"person": NEIGHBOUR}, headers=world.headers(Role.AUDITOR)
    ).json()

    outcomes = {(e["user"], e["outcome"]) for e in entries if e["action"] == "persons.transfers"}
    assert ("the-person", "forbidden") in outcomes
    assert ("the-admin", "ok") in outcomes
    assert all(e["channel"] == "api" for e in entries if e["action"] == "persons.transfers")


def test_login_gives_a_token_that_works_until_it_is_revoked(world: World) -> None:
    answer = world.client.post(
        f"{API}/auth/token", data={"username": "the-hotline", "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert token["token_type"] == "bearer"
    headers = {"Authorization": f"Bearer {token['access_token']}"}

    assert world.client.get(f"{API}/auth/me", headers=headers).json()["role"] == "hotline"
    assert world.client.post(f"{API}/auth/revoke", headers=headers).status_code == 204
    assert world.client.get(f"{API}/auth/me", headers=headers).status_code == 401


def test_wrong_passwords_lock_the_login_for_a_while_even_for_the_right_one(
    world: World,
) -> None:
    name = f"locked-{uuid.uuid4().hex[:6]}"
    with world.app.uow() as uow:
        accounts.add_user(uow=uow, name=name, role="auditor", password=PASSWORD)
    statuses = [
        world.client.post(
            f"{API}/auth/token", data={"username": name, "password": "wrong password!"}
        ).status_code
        for _ in range(5)
    ]
    right = world.client.post(f"{API}/auth/token", data={"username": name, "password": PASSWORD})

    assert statuses == [401] * 5
    assert (right.status_code, right.json()["code"]) == (429, "too_many_attempts")


def test_the_openapi_document_names_the_paths_clients_are_written_against(world: World) -> None:
    paths = world.client.get(f"{API}/openapi.json").json()["paths"]

    for path in (
        "/api/v1/persons/{id_number}/inquiry",
        "/api/v1/persons/{id_number}/payment-records",
        "/api/v1/persons/{id_number}/transfers",
        "/api/v1/persons/{id_number}/statements/{year}.pdf",
        "/api/v1/pos/settlements",
        "/api/v1/pos/settlements/{ref}/refund",
        "/api/v1/audit",
        "/api/v1/auth/token",
        "/api/v1/health",
    ):
        assert path in paths


def test_the_cli_inquiry_json_is_the_apis_answer(world: World) -> None:
    """One function makes both answers (`inquiry_json`)."""
    api = world.client.get(
        f"{API}/persons/{INSIDE}/inquiry",
        params={"as_of": "2024-03-10"},
        headers=world.headers(ADMIN),
    ).json()
    url = world.app.engine.url.render_as_string(hide_password=False)
    if not url.startswith("sqlite"):
        return  # the CLI opens its own database by URL: compared on SQLite
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "yibao.entrypoints.cli.main",
            "inquire",
            "--person",
            INSIDE,
            "--as-of",
            "2024-03-10",
            "--json",
            "--db",
            url,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == api
