"""The demo city a served demo loads: every finding of the explainer shown by some person, cards
in every state, sales, a refund and family mutual aid at the demo pharmacy, a clean ledger; the
same city every time. On SQLite and PostgreSQL."""

from __future__ import annotations

import inspect
import re

import pytest
from sqlalchemy import Engine, func, select

from yibao.adapters.db import scratch_database
from yibao.adapters.tables import (
    Card,
    FamilyBinding,
    Institution,
    LedgerTransfer,
    Person,
    Settlement,
)
from yibao.bootstrap import App
from yibao.demo import SHOWCASE, SHOWCASE_PERSONS, DemoCity, demo_pharmacy, load_demo_city
from yibao.domain import explain as explainer
from yibao.domain.cards import CardStatus
from yibao.domain.policy import DEFAULT_PIN_MAX_TRIES
from yibao.ledger import accounts
from yibao.ledger.check import check_ledger
from yibao.services.audit import Actor
from yibao.services.inquiry.explain import explain_balance

PERSONS = 60
VISITOR = Actor("demo-visitor", "person")


@pytest.fixture
def city(app: App) -> DemoCity:
    return load_demo_city(uow_factory=app.uow, persons=PERSONS, seed=3)


def _codes(app: App, id_number: str, as_of: object, channel: str) -> list[str]:
    with app.uow() as uow:
        _, explanation = explain_balance(
            uow=uow, id_number=id_number, as_of=as_of, channel=channel, actor=VISITOR
        )
    return explanation.codes


def test_every_finding_of_the_explainer_is_shown_by_some_demo_person(
    app: App, city: DemoCity
) -> None:
    every_code = set(re.findall(r'Finding\(\s*"([a-z_]+)"', inspect.getsource(explainer)))
    assert len(every_code) == len(explainer.RULES)  # one code per rule, all found
    shown: set[str] = set()
    for person in city.showcase:
        codes = _codes(app, person.id_number, person.as_of, person.channel)
        assert set(person.findings) <= set(codes), person.key
        shown.update(codes)
    assert every_code <= shown


def test_the_demo_has_cards_in_every_state_sales_a_refund_and_family_aid(
    app: App, city: DemoCity
) -> None:
    assert city.created
    assert city.persons == PERSONS + SHOWCASE_PERSONS
    with app.uow() as uow:
        assert check_ledger(uow.ledger) == []
        statuses = {card.card_no: card for card in uow.session.scalars(select(Card))}
        sales = (
            uow.session.execute(
                select(Settlement)
                .join(Institution, Institution.id == Settlement.institution_id)
                .where(Institution.code == demo_pharmacy(city.area_code))
            )
            .scalars()
            .all()
        )
        bindings = uow.session.scalar(select(func.count()).select_from(FamilyBinding))
        payer = uow.session.scalars(
            select(Person).where(Person.id_number == SHOWCASE[0].id_number)
        ).one()
        financial = uow.ledger.balance_of(accounts.financial_account(payer.id))
    assert statuses["SC0001"].status == CardStatus.ACTIVE
    assert statuses["SC0011"].medical_activated_on is None  # issued only
    assert statuses["SC0012"].lost_on is not None
    assert statuses["SC0013"].replaced_by_card_id == statuses["SC0013R"].id
    assert statuses["SC0013"].status == CardStatus.REPLACED
    assert statuses["SC0014"].failed_pin_tries >= DEFAULT_PIN_MAX_TRIES  # locked
    assert len(sales) == 4
    assert sum(1 for sale in sales if sale.refunded_on is not None) == 1
    assert any(sale.payer_person_id != sale.patient_person_id for sale in sales)  # family aid
    assert bindings == 1
    assert financial == 20_000


def _postings(app: App) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(LedgerTransfer)) or 0)


def test_loading_again_credits_and_sells_nothing_twice(app: App, city: DemoCity) -> None:
    before = _postings(app)
    again = load_demo_city(uow_factory=app.uow, persons=PERSONS, seed=3)
    assert not again.created
    assert again.persons == city.persons
    assert again.showcase == city.showcase
    assert sum(run.contributions_credited + run.retirees_credited for run in again.runs) == 0
    assert _postings(app) == before
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Settlement)) == 4


def test_the_same_seed_makes_the_same_city(engine: Engine, city: DemoCity) -> None:
    with scratch_database(None) as other:
        load_demo_city(uow_factory=App(other).uow, persons=PERSONS, seed=3)
        assert _snapshot(other) == _snapshot(engine)


def _snapshot(engine: Engine) -> list[tuple[str, str, int]]:
    """Every person with the medical balance of their account, by ID number."""
    app = App(engine)
    with app.uow() as uow:
        persons = uow.session.scalars(select(Person).order_by(Person.id_number)).all()
        return [
            (
                p.id_number,
                p.name,
                uow.ledger.balance_of(accounts.personal_account(p.area_code, p.id)),
            )
            for p in persons
        ]
