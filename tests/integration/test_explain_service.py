"""The balance explainer through the real services, on both backends.

The story (Example City of scenario 01: the 2023-01 reform credits no employer share):

    2024-01-02  hired by E001
    2024-01-31  crediting run (nothing to credit)
    2024-02-11  registered by E001: 40 days after hiring, late
    2024-02-15  paid January without medical (pension, unemployment, injury)
    2024-02-15  paid February with all five insurances: credit 6000 x 2% = 120.00
    2024-02-29  crediting run
    2024-03-05  card issued; 2024-03-20 medical function activated, 2024-03-21 financial
    2024-03-15  paid March with all five
    2024-03-25  deposit of 50.00 on the card's financial account
    2024-03-31  crediting run
    2024-04-15  back payment of January, medical only: credit 120.00
    2024-04-30  crediting run
    (no payment after March: by June contributions have stopped)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import yaml

from tests.scenario_files import EXAMPLES
from yibao.bootstrap import App
from yibao.domain.errors import InvalidInput, UnknownPerson
from yibao.domain.explain import Explanation, PersonRecords
from yibao.domain.idnumber import make_id_number
from yibao.domain.months import Month
from yibao.domain.schemes import Scheme
from yibao.services import audit, cards, registry
from yibao.services.audit import Actor
from yibao.services.cards import financial
from yibao.services.contributions import ContributionCmd, record_contribution
from yibao.services.contributions.crediting import run_crediting
from yibao.services.inquiry.explain import CHANNELS, explain_balance, finding_json

SCENARIO = EXAMPLES / "01_medical_left_out.yaml"
AREA = "420100"
PERSON = "420102199003071232"  # born 7 March 1990
STRANGER = "420102198004010058"  # on file, nothing else
YUAN = 100
ALL_FIVE = ("pension", "medical", "unemployment", "injury", "maternity")
WITHOUT_MEDICAL = ("pension", "unemployment", "injury")
HIRED = dt.date(2024, 1, 2)
REGISTERED = HIRED + dt.timedelta(days=40)


@pytest.fixture
def area_block() -> dict[str, Any]:
    document = yaml.safe_load(SCENARIO.read_text())
    return dict(document["area"])


def _contribute(app: App, month: str, received_on: dt.date, insurances: tuple[str, ...]) -> int:
    cmd = ContributionCmd(
        id_number=PERSON,
        received_on=received_on,
        insurances=insurances,
        month=Month.parse(month),
        base_fen=6_000 * YUAN,
    )
    with app.uow() as uow:
        return record_contribution(uow=uow, cmd=cmd).credit_fen


def _credit(app: App, month: str) -> None:
    run_crediting(uow_factory=app.uow, area_code=AREA, month=Month.parse(month))


def _ask(
    app: App,
    as_of: dt.date,
    channel: str = "web",
    actor: str = "tester",
    id_number: str = PERSON,
) -> tuple[PersonRecords, Explanation]:
    with app.uow() as uow:
        return explain_balance(
            uow=uow,
            id_number=id_number,
            as_of=as_of,
            channel=channel,
            actor=Actor(actor, "clerk"),
        )


def _inquiries(app: App) -> list[tuple[str, str, str, str]]:
    """The inquiries in the audit trail, oldest first: whose, who asked, channel, what."""
    with app.uow() as uow:
        found = audit.entries(uow=uow, limit=1_000)
    return [
        (str(e.event.person), e.event.actor.user, e.event.channel, e.event.resource)
        for e in reversed(found)
        if e.event.action == "inquiry"
    ]


@pytest.fixture
def city(app: App, area_block: dict[str, Any]) -> App:
    with app.uow() as uow:
        registry.load_area(uow=uow, document=area_block)
        registry.add_employer(uow=uow, code="E001", name="Example Machinery Co.", area_code=AREA)
        registry.register_employer(uow=uow, code="E001", on=dt.date(2023, 12, 1))
        registry.add_person(uow=uow, id_number=PERSON, name="Zhang Wei", area_code=AREA)
        registry.add_person(uow=uow, id_number=STRANGER, name="Zhao Lei", area_code=AREA)
    return app


@pytest.fixture
def story(city: App) -> App:
    """The whole story above, told in date order."""
    app = city
    with app.uow() as uow:
        registry.hire(uow=uow, id_number=PERSON, employer_code="E001", on=HIRED)
    _credit(app, "2024-01")
    with app.uow() as uow:
        registry.register_employee(uow=uow, id_number=PERSON, employer_code="E001", on=REGISTERED)
    assert _contribute(app, "2024-01", dt.date(2024, 2, 15), WITHOUT_MEDICAL) == 0
    assert _contribute(app, "2024-02", dt.date(2024, 2, 15), ALL_FIVE) == 120 * YUAN
    _credit(app, "2024-02")
    with app.uow() as uow:
        cards.issue_card(uow=uow, id_number=PERSON, card_no="A10000001", on=dt.date(2024, 3, 5))
    assert _contribute(app, "2024-03", dt.date(2024, 3, 15), ALL_FIVE) == 120 * YUAN
    with app.uow() as uow:
        cards.activate_card(uow=uow, id_number=PERSON, on=dt.date(2024, 3, 20))
        cards.activate_financial(uow=uow, id_number=PERSON, on=dt.date(2024, 3, 21))
    with app.uow() as uow:
        financial.deposit(
            uow=uow, id_number=PERSON, amount_fen=50 * YUAN, on=dt.date(2024, 3, 25), key="d1"
        )
    _credit(app, "2024-03")
    assert _contribute(app, "2024-01", dt.date(2024, 4, 15), ("medical",)) == 120 * YUAN
    _credit(app, "2024-04")
    return app


# -- as the story unfolds ------------------------------------------------------------------
def test_hired_and_not_yet_registered(city: App) -> None:
    with city.uow() as uow:
        registry.hire(uow=uow, id_number=PERSON, employer_code="E001", on=HIRED)
    records, explanation = _ask(city, dt.date(2024, 1, 20))
    assert explanation.codes == ["not_registered"]
    assert records.scheme is None
    assert records.ever_enrolled is False
    assert explanation.shown_fen == 0


def test_crediting_pending_before_the_month_end_run(city: App) -> None:
    with city.uow() as uow:
        registry.hire(uow=uow, id_number=PERSON, employer_code="E001", on=HIRED)
        registry.register_employee(uow=uow, id_number=PERSON, employer_code="E001", on=REGISTERED)
    _contribute(city, "2024-01", dt.date(2024, 2, 15), WITHOUT_MEDICAL)
    _contribute(city, "2024-02", dt.date(2024, 2, 15), ALL_FIVE)
    _, before = _ask(city, dt.date(2024, 2, 29))  # the run has not happened yet
    assert "crediting_pending" in before.codes
    assert before.shown_fen == 0
    _credit(city, "2024-02")
    _, after = _ask(city, dt.date(2024, 2, 29))
    assert "crediting_pending" not in after.codes
    assert after.shown_fen == 120 * YUAN


# -- the told story, asked at several dates ------------------------------------------------
@pytest.mark.parametrize(
    ("as_of", "channel", "medical_yuan", "present", "absent"),
    [
        (
            dt.date(2024, 1, 20),
            "web",
            0,
            {"not_registered"},
            {"late_registration", "no_records", "medical_not_paid", "contributions_stopped"},
        ),
        (
            dt.date(2024, 2, 20),
            "hotline",
            0,
            {
                "late_registration",
                "medical_not_paid",
                "crediting_pending",
                "reform_employer_share_not_credited",
            },
            {"not_registered", "contributions_stopped", "card_not_activated", "no_records"},
        ),
        (
            dt.date(2024, 2, 29),
            "web",
            120,
            {"late_registration", "medical_not_paid", "reform_employer_share_not_credited"},
            {"crediting_pending", "contributions_stopped"},
        ),
        (
            dt.date(2024, 3, 10),
            "terminal",
            120,
            {"card_not_activated", "medical_not_paid"},
            {"crediting_pending", "card_reported_lost", "financial_account_queried"},
        ),
        (
            dt.date(2024, 3, 20),
            "pos",
            120,
            {"crediting_pending", "medical_not_paid"},
            {"card_not_activated"},
        ),
        (
            dt.date(2024, 4, 20),
            "bank_counter",
            240,
            {"crediting_pending", "late_registration"},
            {"medical_not_paid", "contributions_stopped", "balance_spent"},
        ),
        (
            dt.date(2024, 4, 30),
            "web",
            360,
            {"late_registration", "reform_employer_share_not_credited"},
            {"medical_not_paid", "crediting_pending", "contributions_stopped"},
        ),
        (
            dt.date(2024, 5, 31),
            "web",
            360,
            {"contributions_stopped"},  # March is the latest, April is due by May
            {"crediting_pending", "medical_not_paid"},
        ),
        (
            dt.date(2024, 6, 10),
            "hotline",
            360,
            {"contributions_stopped", "late_registration"},
            {"crediting_pending", "medical_not_paid", "retiree_fixed_credit"},
        ),
    ],
)
def test_findings_and_balances_at_each_date(
    story: App,
    as_of: dt.date,
    channel: str,
    medical_yuan: int,
    present: set[str],
    absent: set[str],
) -> None:
    records, explanation = _ask(story, as_of, channel)
    assert records.medical_fen == medical_yuan * YUAN
    assert explanation.shows == "medical"
    assert explanation.shown_fen == medical_yuan * YUAN
    assert present <= set(explanation.codes), explanation.codes
    assert not absent & set(explanation.codes), explanation.codes
    assert records.credited_fen == medical_yuan * YUAN
    assert records.spent_fen == 0


def test_the_records_gathered_for_the_late_registration(story: App) -> None:
    records, explanation = _ask(story, dt.date(2024, 4, 20))
    assert records.scheme is Scheme.EMPLOYEE
    assert records.ever_enrolled is True
    assert [(j.employer_code, j.hired_on, j.registered_on) for j in records.jobs] == [
        ("E001", HIRED, REGISTERED)
    ]
    assert records.policy_credits_employer_share is False
    assert records.earlier_policy_credited_employer_share is True
    paid = [(str(p.month), p.received_on, p.credit_fen, p.credited_on) for p in records.payments]
    assert sorted(paid) == [
        ("2024-01", dt.date(2024, 2, 15), 0, None),
        ("2024-01", dt.date(2024, 4, 15), 120 * YUAN, None),  # credited on 2024-04-30
        ("2024-02", dt.date(2024, 2, 15), 120 * YUAN, dt.date(2024, 2, 29)),
        ("2024-03", dt.date(2024, 3, 15), 120 * YUAN, dt.date(2024, 3, 31)),
    ]
    late = next(f for f in explanation.findings if f.code == "late_registration")
    assert late.evidence == (
        f"Example Machinery Co.: hired {HIRED}, registered {REGISTERED} (40 days)",
    )
    assert late.legal_basis == "Social Insurance Law art. 58"
    pending = next(f for f in explanation.findings if f.code == "crediting_pending")
    assert pending.evidence == (
        "2024-01: received 2024-04-15, 120.00 yuan to credit on 2024-04-30",
    )


def test_an_earlier_day_is_answered_as_it_was(story: App) -> None:
    """Asked after the whole story, February still shows what was known then."""
    records, explanation = _ask(story, dt.date(2024, 2, 20))
    assert records.medical_fen == 0
    assert records.card is None
    assert len(records.payments) == 2
    medical_not_paid = next(f for f in explanation.findings if f.code == "medical_not_paid")
    assert medical_not_paid.evidence == ("2024-01: paid without medical insurance",)
    assert "Social Insurance Law" in (medical_not_paid.legal_basis or "")


def test_the_atm_shows_the_financial_account_first(story: App) -> None:
    records, explanation = _ask(story, dt.date(2024, 3, 31), "atm")
    assert explanation.codes[0] == "financial_account_queried"
    assert explanation.shows == "financial"
    assert explanation.shown_fen == 50 * YUAN
    assert records.financial_fen == 50 * YUAN
    assert records.medical_fen == 240 * YUAN
    _, before_deposit = _ask(story, dt.date(2024, 3, 24), "atm")
    assert before_deposit.shown_fen == 0


def test_a_person_with_nothing_on_record(story: App) -> None:
    records, explanation = _ask(story, dt.date(2024, 6, 10), id_number=STRANGER)
    assert explanation.codes == ["no_records"]
    assert records.medical_fen == 0


def test_findings_serialise_with_every_field(story: App) -> None:
    _, explanation = _ask(story, dt.date(2024, 2, 20))
    for finding in explanation.findings:
        as_json = finding_json(finding)
        assert set(as_json) == {
            "code",
            "summary",
            "summary_zh",
            "evidence",
            "evidence_zh",
            "legal_basis",
            "legal_basis_zh",
            "next_step",
        }
        assert as_json["summary"]
        assert as_json["summary_zh"]
        assert as_json["evidence"]
        assert len(as_json["evidence_zh"]) == len(as_json["evidence"])
        assert (as_json["legal_basis"] is None) == (as_json["legal_basis_zh"] is None)
        assert as_json["next_step"]


# -- the inquiry log -----------------------------------------------------------------------
def test_every_inquiry_is_logged_with_actor_and_channel(story: App) -> None:
    assert _inquiries(story) == []
    asked = []
    for number, channel in enumerate(CHANNELS):
        as_of = dt.date(2024, 3, 1) + dt.timedelta(days=number)
        _ask(story, as_of, channel, actor=f"clerk-{number}")
        asked.append((PERSON, f"clerk-{number}", channel, f"balance:{as_of}"))
        assert _inquiries(story) == asked
    _ask(story, dt.date(2024, 6, 1), "web", actor="hotline-7", id_number=STRANGER)
    asked.append((STRANGER, "hotline-7", "web", "balance:2024-06-01"))
    assert _inquiries(story) == asked


def test_asking_twice_logs_twice(story: App) -> None:
    _ask(story, dt.date(2024, 4, 30), "web", actor="same")
    _ask(story, dt.date(2024, 4, 30), "web", actor="same")
    assert len(_inquiries(story)) == 2
    with story.uow() as uow:
        stamps = [entry.recorded_at for entry in audit.entries(uow=uow)]
    assert len(stamps) == 2
    assert stamps[0] >= stamps[1]


@pytest.mark.parametrize("channel", ["", "ATM", "app", "sms", "bank counter"])
def test_an_unknown_channel_is_refused_and_not_logged(story: App, channel: str) -> None:
    with pytest.raises(InvalidInput):
        _ask(story, dt.date(2024, 4, 30), channel)
    with story.uow() as uow:
        assert audit.entries(uow=uow) == []


def test_an_unknown_person_is_refused_and_not_logged(story: App) -> None:
    with pytest.raises(UnknownPerson):
        _ask(
            story,
            dt.date(2024, 4, 30),
            id_number=make_id_number("110101", dt.date(1990, 1, 1), 123),
        )
    assert _inquiries(story) == []


@pytest.mark.parametrize("id_number", ["42010219851", "42011119720819537X", "４２０１"])
def test_a_malformed_id_number_is_refused_naming_it_and_not_logged(
    story: App, id_number: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        _ask(story, dt.date(2024, 4, 30), id_number=id_number)
    assert refused.value.field == "id_number"
    assert id_number not in str(refused.value)  # masked
    assert _inquiries(story) == []
