"""Requests are labelled by route template: an ID number in a path never becomes a label."""

from __future__ import annotations

from yibao.entrypoints.api.metrics import UNMATCHED, route_template

PERSON = "420102198505010011"


class Route:
    path = "/persons/{id_number}/inquiry"  # as the included router knows it, without /api/v1


def test_a_path_parameter_is_put_back_as_its_name() -> None:
    scope = {
        "route": Route(),
        "path": f"/api/v1/persons/{PERSON}/inquiry",
        "path_params": {"id_number": PERSON},
    }

    assert route_template(scope) == "/api/v1/persons/{id_number}/inquiry"


def test_a_parameter_spanning_segments_is_one_name() -> None:
    scope = {"route": Route(), "path": "/static/js/app.js", "path_params": {"path": "js/app.js"}}

    assert route_template(scope) == "/static/{path}"


def test_a_request_no_route_answered_is_one_label_whatever_its_path() -> None:
    assert route_template({"path": f"/no/such/{PERSON}"}) == UNMATCHED
    assert route_template({"route": Route(), "path": "/api/v1/health"}) == "/api/v1/health"
