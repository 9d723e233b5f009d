"""Replay a scenario through the real services, month-end runs included, and answer its queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from yibao.domain.errors import InvalidInput, YibaoError
from yibao.domain.idnumber import mask
from yibao.domain.money import fen_to_yuan, yuan_to_fen
from yibao.domain.months import Month
from yibao.domain.pooled import parse_visit
from yibao.scenario.model import Event, Query, Scenario, SettlementExpectation
from yibao.services import cards, registry, settlement
from yibao.services.audit import Actor
from yibao.services.cards import electronic_card, family, financial
from yibao.services.contributions import ContributionCmd, record_contribution
from yibao.services.contributions.crediting import run_crediting
from yibao.services.inquiry.explain import explain_balance, finding_json
from yibao.services.uow import UnitOfWork

# codes docs/scenarios.md allows in `expect_rejections`; anything else is reported as invalid_input
REJECTION_CODES = frozenset(
    {
        "no_card",
        "card_not_activated",
        "card_reported_lost",
        "not_family_member",
        "financial_not_activated",
        "insufficient_funds",
        "unknown_ref",
        "not_enrolled",
        "already_refunded",
        "already_paid",
        "unknown_person",
        "unknown_employer",
        "unknown_institution",
        "invalid_input",
    }
)


@dataclass
class Rejection:
    line: int
    date: dt.date
    do: str
    code: str
    message: str


@dataclass
class Answer:
    query: Query
    medical_fen: int
    financial_fen: int
    shown_fen: int
    findings: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class SettledSpend:
    """An accepted spend: its split as it was settled (a later refund does not change it)."""

    ref: str
    total_fen: int
    fund_fen: int
    account_fen: int
    cash_fen: int
    refunded: bool = False
    expectation: SettlementExpectation | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class Replay:
    scenario: Scenario
    answers: list[Answer] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    settlements: list[SettledSpend] = field(default_factory=list)
    missing_settlements: list[str] = field(default_factory=list)  # listed, never settled

    @property
    def rejections_ok(self) -> bool:
        expected = self.scenario.expect_rejections
        return expected is None or expected == [r.code for r in self.rejections]

    @property
    def settlements_ok(self) -> bool:
        return all(s.ok for s in self.settlements) and not self.missing_settlements

    @property
    def ok(self) -> bool:
        return (
            all(a.ok for a in self.answers)
            and self.rejections_ok
            and self.settlements_ok
            and not self.unsupported
        )


Handler = Callable[[UnitOfWork, Event], None]


@dataclass(frozen=True)
class _Storage:
    """The replay's database: units of work on it, as the entrypoints' App gives them."""

    engine: Engine

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)


SCENARIO_PIN = "123456"
REPLAY = Actor("scenario-replay", "replay")  # who asks the story's queries, in its audit trail
SCENARIO_SECRET = (
    "scenario-replay"  # scenario files name no PINs: every card gets this one at activation
)


def replay(scenario: Scenario, engine: Engine) -> Replay:
    """Apply every event in order; answer each query as at the end of its `as_of` day."""
    app = _Storage(engine)
    result = Replay(scenario)
    area_code = str(scenario.area["code"])
    _set_up(app, scenario, area_code)
    clock = _MonthEndClock(app, area_code)
    queries = sorted(scenario.queries, key=lambda q: q.as_of)
    for event in scenario.events:
        while queries and queries[0].as_of < event.date:
            result.answers.append(_answer(app, clock, queries.pop(0)))
        clock.run_month_ends_before(event.date)
        _apply(app, event, result)
    for query in queries:
        result.answers.append(_answer(app, clock, query))
    result.answers.sort(key=lambda a: scenario.queries.index(a.query))
    _compare_settlements(result)
    return result


def _compare_settlements(result: Replay) -> None:
    """Each `settlements` entry against the split its spend was settled with."""
    by_ref = {s.ref: s for s in result.settlements}
    for expectation in result.scenario.settlements:
        settled = by_ref.get(expectation.ref)
        if settled is None:
            result.missing_settlements.append(
                f"line {expectation.line}: {expectation.ref} was not settled "
                "(its spend was refused)"
            )
            continue
        settled.expectation = expectation
        actual = {
            "fund_paid": settled.fund_fen,
            "account_paid": settled.account_fen,
            "cash_paid": settled.cash_fen,
        }
        for key, value in actual.items():
            if key in expectation.expect:
                wanted = yuan_to_fen(expectation.expect[key], field=key)
                if wanted != value:
                    settled.failures.append(
                        f"{key}: expected {fen_to_yuan(wanted)}, got {fen_to_yuan(value)}"
                    )


def _set_up(app: _Storage, scenario: Scenario, area_code: str) -> None:
    with app.uow() as uow:
        registry.load_area(uow=uow, document=scenario.area)
        for employer in scenario.employers:
            registry.add_employer(
                uow=uow,
                code=str(employer["code"]),
                name=str(employer.get("name", "")),
                area_code=area_code,
            )
        for institution in scenario.institutions:
            registry.add_institution(
                uow=uow,
                code=str(institution["code"]),
                name=str(institution.get("name", "")),
                kind=str(institution.get("kind", "")),
                area_code=area_code,
                level=institution.get("level", 1),
            )
        for person in scenario.persons:
            registry.add_person(
                uow=uow,
                id_number=str(person["id"]),
                name=str(person.get("name", "")),
                area_code=area_code,
            )


class _MonthEndClock:
    """Runs the month-end crediting of every month whose last day has passed."""

    def __init__(self, app: _Storage, area_code: str) -> None:
        self.app, self.area_code = app, area_code
        self.next_month: Month | None = None

    def run_month_ends_before(self, day: dt.date) -> None:
        self._run_through(lambda month: month.last_day < day, day)

    def run_month_ends_through(self, day: dt.date) -> None:
        self._run_through(lambda month: month.last_day <= day, day)

    def _run_through(self, due: Callable[[Month], bool], day: dt.date) -> None:
        if self.next_month is None:
            self.next_month = Month.of(day)
        while due(self.next_month):
            run_crediting(uow_factory=self.app.uow, area_code=self.area_code, month=self.next_month)
            self.next_month = self.next_month.plus(1)


def _apply(app: _Storage, event: Event, result: Replay) -> None:
    handler = HANDLERS.get(event.do)
    if handler is None:
        result.unsupported.append(
            f"line {event.line}: event `{event.do}` is not supported yet "
            "(cards and settlement come with a later issue)"
        )
        return
    try:
        if event.do == "spend":  # a POS settlement spans two transactions (PIN check, payment)
            result.settlements.append(_spend(app, event))
        elif event.do == "refund":
            _refund(app, event, result)
        else:
            with app.uow() as uow:
                handler(uow, event)
    except YibaoError as error:
        code = error.code if error.code in REJECTION_CODES else "invalid_input"
        result.rejections.append(Rejection(event.line, event.date, event.do, code, error.message))


def _answer(app: _Storage, clock: _MonthEndClock, query: Query) -> Answer:
    clock.run_month_ends_through(query.as_of)
    try:
        with app.uow() as uow:
            records, explanation = explain_balance(
                uow=uow,
                id_number=query.person,
                as_of=query.as_of,
                channel=query.channel,
                actor=REPLAY,
            )
    except YibaoError as error:
        return Answer(query, 0, 0, 0, failures=[f"cannot answer: {error.message}"])
    answer = Answer(
        query,
        records.medical_fen,
        records.financial_fen,
        explanation.shown_fen,
        findings=[finding_json(f) for f in explanation.findings],
    )
    answer.failures = compare(answer, query.expect)
    return answer


def compare(answer: Answer, expect: dict[str, Any] | Any) -> list[str]:
    """What in `expect` the answer does not satisfy, one sentence each."""
    failures = []
    actual = {
        "medical_balance": answer.medical_fen,
        "financial_balance": answer.financial_fen,
        "shown_balance": answer.shown_fen,
    }
    for key, value in actual.items():
        if key in expect:
            try:
                wanted = yuan_to_fen(expect[key], field=key, allow_negative=True)
            except InvalidInput as error:
                failures.append(error.message)
                continue
            if wanted != value:
                failures.append(f"{key}: expected {fen_to_yuan(wanted)}, got {fen_to_yuan(value)}")
    codes = {f["code"] for f in answer.findings}
    for code in expect.get("causes") or []:
        if code not in codes:
            failures.append(f"cause {code} expected, not found")
    for code in expect.get("not_causes") or []:
        if code in codes:
            failures.append(f"cause {code} found, expected absent")
    return failures


# -- event handlers: each is one call of a real service -------------------------------------
def _person(event: Event) -> str:
    return str(event.fields["person"])


def _register_employer(uow: UnitOfWork, event: Event) -> None:
    registry.register_employer(uow=uow, code=str(event.fields["employer"]), on=event.date)


def _hire(uow: UnitOfWork, event: Event) -> None:
    registry.hire(
        uow=uow,
        id_number=_person(event),
        employer_code=str(event.fields["employer"]),
        on=event.date,
    )


def _register_employee(uow: UnitOfWork, event: Event) -> None:
    registry.register_employee(
        uow=uow,
        id_number=_person(event),
        employer_code=str(event.fields["employer"]),
        on=event.date,
        pooled_only=bool(event.fields.get("pooled_only", False)),  # yibao's extension
    )


def _leave(uow: UnitOfWork, event: Event) -> None:
    registry.leave(
        uow=uow,
        id_number=_person(event),
        employer_code=str(event.fields["employer"]),
        on=event.date,
    )


def _enroll(uow: UnitOfWork, event: Event) -> None:
    tier = event.fields.get("tier")
    registry.enroll(
        uow=uow,
        id_number=_person(event),
        scheme=str(event.fields["scheme"]),
        tier=None if tier is None else str(tier),
        on=event.date,
    )


def _contribute(uow: UnitOfWork, event: Event) -> None:
    fields = event.fields
    insurances = fields["insurances"]
    if not isinstance(insurances, list):
        raise InvalidInput("insurances", insurances, "must be a list of insurance types")
    year = fields.get("year")
    cmd = ContributionCmd(
        id_number=_person(event),
        received_on=event.date,
        insurances=tuple(str(i) for i in insurances),
        month=Month.parse(fields["month"]) if "month" in fields else None,
        year=None if year is None else int(year),
        base_fen=yuan_to_fen(fields["base"], field="base") if "base" in fields else None,
        key=f"scenario-line-{event.line}",
    )
    record_contribution(uow=uow, cmd=cmd)


def _issue_card(uow: UnitOfWork, event: Event) -> None:
    cards.issue_card(
        uow=uow, id_number=_person(event), card_no=str(event.fields["card"]), on=event.date
    )


def _activate_card(uow: UnitOfWork, event: Event) -> None:
    cards.activate_card(uow=uow, id_number=_person(event), on=event.date, pin=SCENARIO_PIN)


def _activate_financial(uow: UnitOfWork, event: Event) -> None:
    cards.activate_financial(uow=uow, id_number=_person(event), on=event.date)


def _report_loss(uow: UnitOfWork, event: Event) -> None:
    cards.report_loss(uow=uow, id_number=_person(event), on=event.date)


def _replace_card(uow: UnitOfWork, event: Event) -> None:
    cards.replace_card(
        uow=uow, id_number=_person(event), new_card_no=str(event.fields["card"]), on=event.date
    )


def _deposit(uow: UnitOfWork, event: Event) -> None:
    financial.deposit(
        uow=uow,
        id_number=_person(event),
        amount_fen=_amount(event),
        on=event.date,
        key=f"scenario-line-{event.line}",
    )


def _withdraw(uow: UnitOfWork, event: Event) -> None:
    financial.withdraw(
        uow=uow,
        id_number=_person(event),
        amount_fen=_amount(event),
        on=event.date,
        key=f"scenario-line-{event.line}",
    )


def _bind_family(uow: UnitOfWork, event: Event) -> None:
    family.bind(
        uow=uow,
        id_number=_person(event),
        member_id_number=str(event.fields["member"]),
        relation=str(event.fields["relation"]),
        on=event.date,
    )


def _spend(app: _Storage, event: Event) -> SettledSpend:
    """The patient shows their card (PIN 123456) or their e-voucher; a bound member may pay."""
    fields = event.fields
    beneficiary = fields.get("beneficiary")
    patient_number = str(beneficiary) if beneficiary is not None else _person(event)
    now = dt.datetime.combine(event.date, dt.time(12), tzinfo=dt.UTC)
    with app.uow() as uow:
        patient = registry.person_by_id_number(uow=uow, id_number=patient_number)
        if beneficiary is not None:  # an unbound patient is refused before anything else
            payer = registry.person_by_id_number(uow=uow, id_number=_person(event))
            family.require_bound(uow=uow, payer=payer, member=patient, on=event.date)
        card = cards.current_card(uow=uow, person_id=patient.id)
        use_evoucher = fields.get("credential") == "evoucher" or (
            beneficiary is not None and card is None
        )
        credential: settlement.CardAndPin | settlement.ElectronicCard
        if use_evoucher:
            token = electronic_card.issue_evoucher(
                uow=uow, id_number=patient_number, now=now, seconds=300, secret=SCENARIO_SECRET
            ).token
            credential = settlement.ElectronicCard(token)
        else:
            card_no = cards.require_current_card(uow=uow, person=patient).card_no
            credential = settlement.CardAndPin(card_no, SCENARIO_PIN)
    amount = _amount(event)
    outside = yuan_to_fen(fields.get("out_of_catalogue", 0), field="out_of_catalogue")
    lines = [settlement.LineItem("SCENARIO", 1, amount - outside, account_may_pay=True)]
    if outside > 0:
        lines.append(settlement.LineItem("OUT-OF-CATALOGUE", 1, outside, account_may_pay=False))
    cmd = settlement.SettleCmd(
        institution_code=str(fields["institution"]),
        ref=str(fields["ref"]),
        credential=credential,
        lines=tuple(lines),
        on=event.date,
        payer_id_number=_person(event) if beneficiary is not None else None,
        visit=None if "visit" not in fields else parse_visit(fields["visit"]),
    )
    receipt = settlement.settle(uow_factory=app.uow, cmd=cmd, now=now, card_secret=SCENARIO_SECRET)
    return SettledSpend(
        receipt.ref, receipt.total_fen, receipt.fund_fen, receipt.personal_fen, receipt.own_fen
    )


def _refund(app: _Storage, event: Event, result: Replay) -> None:
    ref = str(event.fields["ref"])
    with app.uow() as uow:
        settlement.refund(uow=uow, ref=ref, on=event.date)
    for settled in result.settlements:
        if settled.ref == ref:
            settled.refunded = True


def _amount(event: Event) -> int:
    amount = yuan_to_fen(event.fields["amount"], field="amount")
    if amount <= 0:
        raise InvalidInput("amount", event.fields["amount"], "must be above zero")
    return amount


HANDLERS: dict[str, Handler] = {
    "register_employer": _register_employer,
    "hire": _hire,
    "register_employee": _register_employee,
    "leave": _leave,
    "enroll": _enroll,
    "contribute": _contribute,
    "issue_card": _issue_card,
    "activate_card": _activate_card,
    "activate_financial": _activate_financial,
    "report_loss": _report_loss,
    "replace_card": _replace_card,
    "deposit": _deposit,
    "withdraw": _withdraw,
    "bind_family": _bind_family,
    "spend": lambda _uow, _event: None,  # replayed by _spend, which needs two transactions
    "refund": lambda _uow, _event: None,  # replayed by _refund, which marks the settlement
}


def answer_json(answer: Answer) -> dict[str, Any]:
    q = answer.query
    return {
        "person": mask(q.person),  # output may be shared: ID numbers are shown masked
        "as_of": q.as_of.isoformat(),
        "channel": q.channel,
        "medical_balance": fen_to_yuan(answer.medical_fen),
        "financial_balance": fen_to_yuan(answer.financial_fen),
        "shown_balance": fen_to_yuan(answer.shown_fen),
        "findings": answer.findings,
        "expect": q.expect,
        "ok": answer.ok,
        "failures": answer.failures,
    }


def settlement_json(settled: SettledSpend) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ref": settled.ref,
        "total": fen_to_yuan(settled.total_fen),
        "fund_paid": fen_to_yuan(settled.fund_fen),
        "account_paid": fen_to_yuan(settled.account_fen),
        "cash_paid": fen_to_yuan(settled.cash_fen),
        "refunded": settled.refunded,
    }
    if settled.expectation is not None:
        out.update(expect=settled.expectation.expect, ok=settled.ok, failures=settled.failures)
    return out


def replay_json(result: Replay) -> dict[str, Any]:
    return {
        "scenario": result.scenario.name,
        "answers": [answer_json(a) for a in result.answers],
        "settlements": [settlement_json(s) for s in result.settlements],
        "missing_settlements": result.missing_settlements,
        "rejections": [
            {
                "line": r.line,
                "date": r.date.isoformat(),
                "do": r.do,
                "code": r.code,
                "message": r.message,
            }
            for r in result.rejections
        ],
        "expect_rejections": result.scenario.expect_rejections,
        "rejections_ok": result.rejections_ok,
        "unsupported": result.unsupported,
        "ok": result.ok,
    }
