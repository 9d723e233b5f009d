"""The access table, walked: every role against every action, inside its scope and outside.

A role the table allows gets past the gate (its answer may still be a refusal of the request
itself: 404, 409, 422); any other gets 403 as problem+json, and never the data.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.e2e.api.world import (
    AREA,
    CARD,
    INSIDE,
    OTHER_AREA,
    OUTSIDE,
    OUTSIDE_CARD,
    PIN,
    World,
    area_document,
)
from yibao.services.accounts import Role
from yibao.services.accounts.access import RULES, Scope


@dataclass(frozen=True)
class Place:
    """The records a request names: all inside the scoped logins' scope (HOME), or none."""

    person: str
    card: str
    employer: str
    institution: str
    area: str


HOME = Place(INSIDE, CARD, "E001", "P001", AREA)
AWAY = Place(OUTSIDE, OUTSIDE_CARD, "E900", "P900", OTHER_AREA)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: dict[str, Any] | None = None
    moves_money: bool = False
    params: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes, str]] | None = None


def _upload(path: str, *lines: str) -> Call:
    content = "\n".join(lines).encode()
    return Call("POST", path, files={"file": ("rows.csv", content, "text/csv")})


def _ref() -> str:
    return uuid.uuid4().hex[:16]


CALLS: dict[str, Callable[[Place], Call]] = {
    "areas.load": lambda p: Call("POST", "/areas", area_document(p.area)),
    "areas.read": lambda p: Call("GET", f"/areas/{p.area}"),
    "employers.add": lambda p: Call(
        "POST", "/employers", {"code": f"N{p.area}", "name": "New Co.", "area": p.area}
    ),
    "employers.register": lambda p: Call(
        "POST", f"/employers/{p.employer}/registration", {"on": "2024-01-02"}
    ),
    "employers.read": lambda p: Call("GET", f"/employers/{p.employer}"),
    "institutions.add": lambda p: Call(
        "POST",
        "/institutions",
        {"code": f"Q{p.area}", "name": "New Clinic", "kind": "clinic", "area": p.area},
    ),
    "institutions.read": lambda p: Call("GET", f"/institutions/{p.institution}"),
    "persons.add": lambda p: Call(
        "POST", "/persons", {"id_number": p.person, "name": "Zhang San", "area": p.area}
    ),
    "persons.read": lambda p: Call("GET", f"/persons/{p.person}"),
    "persons.employment": lambda p: Call(
        "POST", f"/persons/{p.person}/hire", {"employer": p.employer, "on": "2024-01-05"}
    ),
    "persons.enrol": lambda p: Call(
        "POST", f"/persons/{p.person}/enrolment", {"scheme": "nothing", "on": "2024-03-01"}
    ),
    "persons.link": lambda p: Call("POST", f"/persons/{p.person}/links", {"other": p.person}),
    "persons.merge": lambda p: Call(
        "POST", f"/persons/{p.person}/merges", {"other": p.person}, moves_money=True
    ),
    "contributions.pay": lambda p: Call(
        "POST",
        "/contributions",
        {"person": p.person, "insurances": ["medical"], "month": "2024-03", "base": "8000"},
        moves_money=True,
    ),
    "imports.employers": lambda p: _upload(
        "/imports/employers", "code,name,area", f"M{p.area},New Co.,{p.area}"
    ),
    "imports.persons": lambda p: _upload(
        "/imports/persons", "id_number,name,area", f"{p.person},Zhang San,{p.area}"
    ),
    "imports.employment": lambda p: _upload(
        "/imports/employment", "id_number,employer,hired_on", f"{p.person},{p.employer},2024-01-05"
    ),
    "imports.contributions": lambda p: _upload(
        "/imports/contributions",
        "id_number,month,insurances,base",
        f"{p.person},2024-03,medical,8000",
    ),
    "crediting.start": lambda p: Call(
        "POST", "/crediting-runs", {"area": p.area, "month": "2024-02"}, moves_money=True
    ),
    "crediting.read": lambda p: Call("GET", f"/crediting-runs/{p.area}-2024-02"),
    "cards.issue": lambda p: Call("POST", f"/persons/{p.person}/card", {"card_no": p.card}),
    "cards.activate": lambda p: Call("POST", f"/persons/{p.person}/card/activation", {"pin": PIN}),
    "cards.activate_financial": lambda p: Call(
        "POST", f"/persons/{p.person}/card/financial-activation", {}
    ),
    "cards.report_loss": lambda p: Call(
        "POST", f"/persons/{p.person}/card/loss", {"on": "1999-01-01"}
    ),
    "cards.replace": lambda p: Call(
        "POST", f"/persons/{p.person}/card/replacement", {"card_no": p.card}
    ),
    "cards.change_pin": lambda p: Call(
        "POST", f"/cards/{p.card}/pin", {"old_pin": PIN, "new_pin": PIN}
    ),
    "cards.reset_pin": lambda p: Call("POST", f"/cards/{p.card}/pin-reset", {"new_pin": PIN}),
    "cards.electronic": lambda p: Call("POST", f"/persons/{p.person}/electronic-card"),
    "financial.read": lambda p: Call("GET", f"/persons/{p.person}/financial-account"),
    "financial.move": lambda p: Call(
        "POST",
        f"/persons/{p.person}/financial-account/deposits",
        {"amount": "1.00", "ref": _ref()},
        moves_money=True,
    ),
    "family.bind": lambda p: Call(
        "POST", f"/persons/{p.person}/family", {"member": p.person, "relation": "spouse"}
    ),
    "pos.settle": lambda p: Call(
        "POST",
        "/pos/settlements",
        {
            "institution": p.institution,
            "ref": _ref(),
            "items": [{"code": "DRUG-1", "quantity": 1, "amount": "1.00"}],
            "card": p.card,
            "pin": PIN,
        },
        moves_money=True,
    ),
    "pos.refund": lambda p: Call(
        "POST",
        "/pos/settlements/no-such-sale/refund",
        {"institution": p.institution},
        moves_money=True,
    ),
    "institutions.statement": lambda p: Call(
        "GET", f"/institutions/{p.institution}/statements/2024-03-01"
    ),
    "institutions.clear": lambda p: Call(
        "POST", f"/institutions/{p.institution}/clearings", {"day": "2024-03-01"}, True
    ),
    "persons.inquiry": lambda p: Call("GET", f"/persons/{p.person}/inquiry"),
    "cards.inquiry": lambda p: Call(
        "POST", "/card-inquiries", {"card_no": p.card, "pin": PIN, "channel": "terminal"}
    ),
    "hotline.inquiry": lambda p: Call(
        "POST", "/hotline/inquiries", {"id_number": p.person, "password": PIN}
    ),
    "persons.payment_records": lambda p: Call("GET", f"/persons/{p.person}/payment-records"),
    "persons.transfers": lambda p: Call("GET", f"/persons/{p.person}/transfers"),
    "persons.statement": lambda p: Call("GET", f"/persons/{p.person}/statements/2024.pdf"),
    "ledger.check": lambda p: Call("GET", "/ledger/check"),
    "audit.read": lambda p: Call("GET", "/audit", params={"person": p.person}),
}


# Routes that share an action with one above: the same rule, walked through each route.
ALSO: tuple[tuple[str, Callable[[Place], Call]], ...] = (
    (
        "persons.employment",
        lambda p: Call(
            "POST",
            f"/persons/{p.person}/registration",
            {"employer": p.employer, "on": "2024-01-05"},
        ),
    ),
    (
        "persons.employment",
        lambda p: Call(
            "POST", f"/persons/{p.person}/leave", {"employer": p.employer, "on": "2024-06-30"}
        ),
    ),
    (
        "financial.move",
        lambda p: Call(
            "POST",
            f"/persons/{p.person}/financial-account/withdrawals",
            {"amount": "1.00", "ref": _ref()},
            moves_money=True,
        ),
    ),
    (
        "family.bind",
        lambda p: Call("POST", f"/persons/{p.person}/family/{p.person}/unbinding", {}),
    ),
)
ROUTES = tuple(CALLS.items()) + ALSO

# Routes outside the table: any caller (health, readiness, a login) or any logged-in user
# about their own token.
OPEN = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("POST", "/auth/token"),
    ("GET", "/auth/me"),
    ("POST", "/auth/revoke"),
}


def allowed(role: Role, action: str, place: Place) -> bool:
    scope = RULES[action].get(role)
    if scope is None:
        return False
    return scope in (Scope.ALL, Scope.PRESENTED) or place is HOME


def call(world: World, role: Role, request: Call) -> Any:
    return world.client.request(
        request.method,
        f"/api/v1{request.path}",
        json=request.json,
        params=request.params,
        files=request.files,
        headers=world.headers(role, key=request.moves_money),
    )


def test_every_action_of_the_table_has_a_request_here() -> None:
    assert set(CALLS) == set(RULES)


def _template(path: str) -> re.Pattern[str]:
    """An OpenAPI path (`/persons/{id_number}/card`) as a pattern its requests' paths match."""
    return re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$")


def test_every_route_of_the_api_is_walked_here(world: World) -> None:
    operations = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, methods in world.client.get("/api/v1/openapi.json").json()["paths"].items()
        if path.startswith("/api/v1")
        for method in methods
    }
    walked = [(request.method, request.path) for _, make in ROUTES for request in [make(HOME)]]
    missing = {
        (method, path)
        for method, path in operations - OPEN
        if not any(m == method and _template(path).match(p) for m, p in walked)
    }
    assert not missing


@pytest.mark.parametrize(
    ("action", "make"),
    ROUTES,
    ids=[f"{action} {make(HOME).method} {make(HOME).path}" for action, make in ROUTES],
)
def test_each_role_gets_past_the_gate_only_where_the_table_allows(
    world: World, action: str, make: Callable[[Place], Call]
) -> None:
    for place in (HOME, AWAY):
        for role in Role:
            answer = call(world, role, make(place))
            where = f"{role} {action} {'home' if place is HOME else 'away'}"
            if allowed(role, action, place):
                assert answer.status_code not in (401, 403), f"{where}: {answer.text}"
                assert answer.status_code < 500, f"{where}: {answer.text}"
                continue
            assert answer.status_code == 403, f"{where}: {answer.status_code} {answer.text}"
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["code"] == "forbidden"
            assert place.person not in answer.text
            assert "Zhang San" not in answer.text


@pytest.mark.parametrize("path", ["links", "merges"])
def test_a_clerk_links_and_merges_only_records_of_its_own_area(world: World, path: str) -> None:
    """A merge moves the other record's contributions and balance: a clerk may not pull a
    record of another area into its own, nor give its own away, whichever one the URL names.
    The table's walk above names one person twice, so it cannot see this."""
    for person, other in ((INSIDE, OUTSIDE), (OUTSIDE, INSIDE)):
        request = Call("POST", f"/persons/{person}/{path}", {"other": other}, moves_money=True)
        answer = call(world, Role.CLERK, request)
        assert answer.status_code == 403, answer.text
        assert answer.json()["code"] == "forbidden"
    unlinked = Call("POST", f"/persons/{INSIDE}/merges", {"other": OUTSIDE}, moves_money=True)
    assert call(world, Role.ADMIN, unlinked).status_code == 409  # past the gate: link first
