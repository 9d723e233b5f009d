"""A scenario file read into plain values, with the line of every event for error messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from yibao.adapters.tables import Employer, Institution, Person
from yibao.adapters.yaml_files import UnreadableYaml, load_yaml_file
from yibao.domain.channels import CHANNELS
from yibao.domain.errors import InvalidInput, YibaoError
from yibao.domain.idnumber import IdNumber
from yibao.domain.money import yuan_to_fen
from yibao.domain.months import parse_date
from yibao.domain.pooled import parse_level, parse_visit
from yibao.services.registry import INSTITUTION_KINDS, check_area, fields

# the fields each event needs (beyond date and do)
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "register_employer": ("employer",),
    "hire": ("person", "employer"),
    "register_employee": ("person", "employer"),
    "leave": ("person", "employer"),
    "enroll": ("person", "scheme"),
    "contribute": ("person", "insurances"),
    "issue_card": ("person", "card"),
    "activate_card": ("person",),
    "activate_financial": ("person",),
    "report_loss": ("person",),
    "replace_card": ("person", "card"),
    "deposit": ("person", "amount"),
    "withdraw": ("person", "amount"),
    "bind_family": ("person", "member", "relation"),
    "spend": ("person", "institution", "amount", "ref"),
    "refund": ("ref",),
}


class MalformedScenario(YibaoError):
    """The file cannot be replayed at all; `line` points at the problem."""

    code = "malformed_scenario"

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {problem}")
        self.line = line


@dataclass(frozen=True, slots=True)
class Event:
    line: int
    date: dt.date
    do: str
    fields: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Query:
    line: int
    person: str
    as_of: dt.date
    channel: str
    expect: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SettlementExpectation:
    """A `settlements` entry: how the spend `ref` must have been split."""

    line: int
    ref: str
    expect: Mapping[str, Any]


SETTLEMENT_KEYS = ("fund_paid", "account_paid", "cash_paid")
CREDENTIALS = ("card", "evoucher")


@dataclass(frozen=True, slots=True)
class Scenario:
    path: str
    name: str
    area: Mapping[str, Any]
    employers: list[Mapping[str, Any]]
    institutions: list[Mapping[str, Any]]
    persons: list[Mapping[str, Any]]
    events: list[Event]
    queries: list[Query]
    expect_rejections: list[str] | None = field(default=None)
    settlements: list[SettlementExpectation] = field(default_factory=list)


class _LineLoader(yaml.SafeLoader):
    """Safe YAML loader that remembers the line of every mapping as `__line__`."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = {str(k): v for k, v in loader.construct_mapping(node, deep=True).items()}
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file; any problem raises MalformedScenario with its line."""
    name = str(path)
    try:
        raw = load_yaml_file(path, _LineLoader)
    except UnreadableYaml as error:
        raise MalformedScenario(name, error.line, error.problem) from None
    if not isinstance(raw, dict):
        raise MalformedScenario(name, None, "must be a mapping with area, persons, events, queries")
    return _parse(name, raw)


def _parse(path: str, raw: dict[str, Any]) -> Scenario:
    def fail(node: Any, problem: str) -> MalformedScenario:
        line = node.get("__line__") if isinstance(node, dict) else None
        return MalformedScenario(path, line, problem)

    for key in ("area", "persons", "events", "queries"):
        if key not in raw:
            raise fail(raw, f"the `{key}` section is missing")
    area = raw["area"]
    try:
        check_area(_strip_lines(area))
    except YibaoError as error:
        raise fail(area if isinstance(area, dict) else raw, error.message) from None
    persons = _list(raw, "persons", fail)
    for person in persons:
        _id_number(person, "id", fail)
        _registered(person, fail, name=Person.name)
    employers = _list(raw, "employers", fail, required=False)
    for employer in employers:
        _registered(employer, fail, code=Employer.code, name=Employer.name)
    institutions = _list(raw, "institutions", fail, required=False)
    for institution in institutions:
        _registered(institution, fail, code=Institution.code, name=Institution.name)
        if institution.get("kind") not in INSTITUTION_KINDS:
            raise fail(
                institution,
                f"kind: {institution.get('kind')!r} is not one of {', '.join(INSTITUTION_KINDS)}",
            )
        try:
            parse_level(institution.get("level", 1))
        except InvalidInput as error:
            raise fail(institution, error.message) from None
    events, last = [], None
    for item in _list(raw, "events", fail):
        event = _event(item, fail)
        if last is not None and event.date < last:
            raise fail(item, f"event date {event.date} is before the previous event ({last})")
        last = event.date
        events.append(event)
    queries = [_query(item, fail) for item in _list(raw, "queries", fail)]
    settlements = [
        _settlement(item, fail) for item in _list(raw, "settlements", fail, required=False)
    ]
    spent = {str(e.fields["ref"]) for e in events if e.do == "spend"}
    for expectation in settlements:
        if expectation.ref not in spent:
            raise MalformedScenario(
                path, expectation.line, f"settlement {expectation.ref!r} is no spend's ref"
            )
    rejections = raw.get("expect_rejections")
    if rejections is not None and not isinstance(rejections, list):
        raise fail(raw, "`expect_rejections` must be a list of codes")
    return Scenario(
        path=path,
        name=str(raw.get("name") or path),
        area=_strip_lines(area),
        employers=[_strip_lines(e) for e in employers],
        institutions=[_strip_lines(i) for i in institutions],
        persons=[_strip_lines(p) for p in persons],
        events=events,
        queries=queries,
        expect_rejections=None if rejections is None else [str(r) for r in rejections],
        settlements=settlements,
    )


def _list(raw: dict[str, Any], key: str, fail: Any, *, required: bool = True) -> list[Any]:
    value = raw.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise fail(raw, f"`{key}` must be a list of mappings")
    return value


def _id_number(item: dict[str, Any], key: str, fail: Any) -> str:
    if key not in item:
        raise fail(item, f"`{key}` is missing")
    try:
        return IdNumber.parse(item[key], field=key).value
    except InvalidInput as error:
        raise fail(item, error.message) from None


def _registered(item: dict[str, Any], fail: Any, **columns: Any) -> None:
    """An employer, institution or person of the file: code and name as the registry takes them."""
    try:
        if "code" in columns:
            fields.code(item.get("code"), field="code", column=columns["code"])
        fields.text(item.get("name"), field="name", column=columns["name"])
    except InvalidInput as error:
        raise fail(item, error.message) from None


def _event(item: dict[str, Any], fail: Any) -> Event:
    if "date" not in item or "do" not in item:
        raise fail(item, "an event needs `date` and `do`")
    kind = str(item["do"])
    if kind not in EVENT_FIELDS:
        raise fail(item, f"unknown event `do: {kind}` (known: {', '.join(EVENT_FIELDS)})")
    for needed in EVENT_FIELDS[kind]:
        if needed not in item:
            raise fail(item, f"`{kind}` needs the field `{needed}`")
    for key in ("person", "member", "beneficiary"):
        if key in item:
            _id_number(item, key, fail)
    try:
        day = parse_date(item["date"])
        if kind == "spend":
            _spend_fields(item)
    except InvalidInput as error:
        raise fail(item, error.message) from None
    return Event(item["__line__"], day, kind, _strip_lines(item))


def _query(item: dict[str, Any], fail: Any) -> Query:
    for needed in ("person", "as_of", "channel"):
        if needed not in item:
            raise fail(item, f"a query needs `{needed}`")
    if item["channel"] not in CHANNELS:
        raise fail(item, f"channel {item['channel']!r} is not one of {', '.join(CHANNELS)}")
    try:
        as_of = parse_date(item["as_of"], field="as_of")
    except InvalidInput as error:
        raise fail(item, error.message) from None
    expect = item.get("expect") or {}
    if not isinstance(expect, dict):
        raise fail(item, "`expect` must be a mapping")
    return Query(
        item["__line__"],
        _id_number(item, "person", fail),
        as_of,
        str(item["channel"]),
        _strip_lines(expect),
    )


def _spend_fields(item: dict[str, Any]) -> None:
    """A spend's optional fields: a known visit and credential, a part out of the catalogue."""
    if "visit" in item:
        parse_visit(item["visit"])
    if item.get("credential", "card") not in CREDENTIALS:
        raise InvalidInput("credential", item["credential"], "is not one of card, evoucher")
    amount = yuan_to_fen(item["amount"], field="amount")
    outside = yuan_to_fen(item.get("out_of_catalogue", 0), field="out_of_catalogue")
    if outside > amount:
        raise InvalidInput("out_of_catalogue", item["out_of_catalogue"], "is above the amount")


def _settlement(item: dict[str, Any], fail: Any) -> SettlementExpectation:
    if "ref" not in item:
        raise fail(item, "a settlement needs `ref`")
    expect = item.get("expect") or {}
    if not isinstance(expect, dict):
        raise fail(item, "`expect` must be a mapping")
    for key, value in _strip_lines(expect).items():
        if key not in SETTLEMENT_KEYS:
            raise fail(
                item, f"settlement expect `{key}` is not one of {', '.join(SETTLEMENT_KEYS)}"
            )
        try:
            yuan_to_fen(value, field=key)
        except InvalidInput as error:
            raise fail(item, error.message) from None
    return SettlementExpectation(item["__line__"], str(item["ref"]), _strip_lines(expect))
