"""Which planning area's database a request runs on, when each area has its own.

A request goes to the area it concerns, found in this order: the path (a person by their
insured area, a card by the area that issued it, an institution or an employer by its area, an
area by its code), then the body (the area a new record is made in, a POS's institution, a person, a
card), then the `Yibao-Area` header, for what names no area (logging in, the caller's own
account, the ledger check, the audit trail). A request that names none is refused, not sent
to some default: a fund's books are not to be written by guess.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import Request

from yibao.domain.errors import InvalidInput
from yibao.services.areas import AreaDatabases

AREA_HEADER = "Yibao-Area"

# The paths where `{code}` is an area, an institution or an employer.
_PATH_AREA, _PATH_INSTITUTION, _PATH_EMPLOYER = "/areas/", "/institutions/", "/employers/"


def area_of_request(request: Request, body: Mapping[str, Any], areas: AreaDatabases) -> str:
    """The area whose database answers this request (see the module docstring)."""
    params = request.path_params
    path = request.url.path
    if "id_number" in params:
        return areas.area_of_person(str(params["id_number"]))
    if "card_no" in params:
        return _area_of_card(areas, str(params["card_no"]))
    code = params.get("code")
    if code is not None and _PATH_AREA in path:
        return str(code)
    if code is not None and _PATH_INSTITUTION in path:
        return areas.area_of_institution(str(code))
    if code is not None and _PATH_EMPLOYER in path:
        return areas.area_of_employer(str(code))
    return _area_of_body(body, areas) or _area_of_header(request, areas)


def _area_of_body(body: Mapping[str, Any], areas: AreaDatabases) -> str | None:
    if isinstance(body.get("institution"), str):
        return areas.area_of_institution(body["institution"])
    if isinstance(body.get("area"), str):
        return str(body["area"])
    for field in ("id_number", "person"):
        if isinstance(body.get(field), str):
            return areas.area_of_person(body[field])
    for field in ("card_no", "card"):
        if isinstance(body.get(field), str):
            return _area_of_card(areas, body[field])
    return None


def _area_of_card(areas: AreaDatabases, card_no: str) -> str:
    found = areas.area_of_card(card_no)
    if found is None:
        raise InvalidInput("card", card_no, "was issued in no area")
    return found


def _area_of_header(request: Request, areas: AreaDatabases) -> str:
    named = request.headers.get(AREA_HEADER)
    if named is None:
        raise InvalidInput(
            AREA_HEADER,
            None,
            "is needed: this request names no person, card, institution or area, and each "
            f"area has its own database (areas: {', '.join(areas.areas)})",
        )
    return named


async def json_body(request: Request) -> Mapping[str, Any]:
    """The request's JSON object, if it has one (read once: FastAPI reads the same bytes)."""
    if "json" not in request.headers.get("content-type", ""):
        return {}
    try:
        parsed = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}  # the route's own validation names what is wrong
    return parsed if isinstance(parsed, dict) else {}
