"""Bad input refused alike on SQLite and PostgreSQL, before anything is written.

PostgreSQL enforces VARCHAR lengths (a DataError mid-transaction) and SQLite does not (the value
was stored); both now refuse an over-long, empty or separator-holding value as bad input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.integration.cards.cardholders import AREA, DAY, NOW, SECRET, add_person, cardholder
from yibao.adapters.tables import Base, Card, Employer, Institution, Person
from yibao.bootstrap import App
from yibao.domain.errors import InvalidInput
from yibao.domain.money import MAX_FEN
from yibao.ledger import accounts
from yibao.services import cards, registry, settlement
from yibao.services.cards import financial
from yibao.services.contributions import ContributionCmd, record_contribution
from yibao.services.settlement import CardAndPin, LineItem, SettleCmd

Call = Callable[[App], Any]


def rows(app: App) -> dict[str, int]:
    with app.engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }


def _employer(code: str, name: str = "Example Co.") -> Call:
    def call(app: App) -> Any:
        with app.uow() as uow:
            return registry.add_employer(uow=uow, code=code, name=name, area_code=AREA)

    return call


def _institution(code: str, name: str = "Example Clinic") -> Call:
    def call(app: App) -> Any:
        with app.uow() as uow:
            return registry.add_institution(
                uow=uow, code=code, name=name, kind="clinic", area_code=AREA
            )

    return call


def _person(name: str) -> Call:
    return lambda app: add_person(app, 7, name=name) if name else _unnamed(app)


def _unnamed(app: App) -> Any:
    with app.uow() as uow:
        return registry.add_person(
            uow=uow, id_number="420102199003071232", name="  ", area_code=AREA
        )


def _card(card_no: str) -> Call:
    def call(app: App) -> Any:
        person = add_person(app, 8)
        before = rows(app)
        try:
            with app.uow() as uow:
                cards.issue_card(uow=uow, id_number=person.id_number, card_no=card_no, on=DAY)
        finally:
            assert rows(app) == before

    return call


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (_employer("E" * 41), "longer than 40"),
        (_employer("E:1"), "':'"),
        (_employer(""), "is empty"),
        (_employer("E001", name="N" * 201), "longer than 200"),
        (_employer("E001", name=""), "is empty"),
        (_institution("P" * 41), "longer than 40"),
        (_institution("P:1"), "':'"),
        (_institution("P002", name="N" * 201), "longer than 200"),
        (_person("N" * 101), "longer than 100"),
        (_person(""), "is empty"),
        (_card("A" * 41), "longer than 40"),
        (_card(""), "is empty"),
    ],
)
def test_a_code_or_name_that_does_not_fit_its_column_is_refused_and_nothing_written(
    city: App, call: Call, says: str
) -> None:
    before = rows(city)
    with pytest.raises(InvalidInput, match=says):
        call(city)
    after = rows(city)
    after["person"] = before["person"]  # _card adds its holder first
    assert after == before


def test_codes_and_names_exactly_as_long_as_their_columns_are_taken(city: App) -> None:
    _employer("E" * 40, name="N" * 200)(city)
    _institution("P" * 40, name="N" * 200)(city)
    add_person(city, 9, name="N" * 100)
    with city.engine.connect() as connection:
        assert connection.execute(select(Employer.code)).scalar_one() == "E" * 40
        assert connection.execute(
            select(func.count()).where(Institution.code == "P" * 40)
        ).scalar_one()
        assert connection.execute(select(func.count()).where(Person.name == "N" * 100)).scalar_one()


def _settle(app: App, ref: str, code: str = "A01") -> Any:
    cmd = SettleCmd(
        institution_code="P001",
        ref=ref,
        credential=CardAndPin("A10000001", "123456"),
        lines=(LineItem(code, 1, 1_000, account_may_pay=True),),
        on=DAY,
    )
    return settlement.settle(uow_factory=app.uow, cmd=cmd, now=NOW, card_secret=SECRET)


@pytest.mark.parametrize(
    ("ref", "code", "says"),
    [
        ("R" * 81, "A01", "longer than 80"),
        ("R:1", "A01", "':'"),
        ("", "A01", "is empty"),
        ("R1", "C" * 61, "longer than 60"),
    ],
)
def test_a_sale_with_a_ref_or_item_code_beyond_its_column_is_refused(
    city: App, ref: str, code: str, says: str
) -> None:
    cardholder(city, 1, "A10000001", fen=50_000)
    before = rows(city)
    with pytest.raises(InvalidInput, match=says):
        _settle(city, ref, code)
    assert rows(city) == before
    assert _settle(city, "R" * 80, "C" * 60).personal_fen == 1_000


@pytest.mark.parametrize(
    ("ref", "says"),
    [("D" * 81, "longer than 80"), ("D:1", "':'"), ("", "is empty")],
)
def test_a_deposit_ref_that_does_not_fit_is_refused(city: App, ref: str, says: str) -> None:
    person = cardholder(city, 1, "A10000001")
    with city.uow() as uow:
        cards.activate_financial(uow=uow, id_number=person.id_number, on=DAY)
    before = rows(city)
    with pytest.raises(InvalidInput, match=says), city.uow() as uow:
        financial.deposit(uow=uow, id_number=person.id_number, amount_fen=100, on=DAY, key=ref)
    assert rows(city) == before


@pytest.mark.parametrize(
    ("ref", "says"),
    [("C" * 121, "longer than 120"), ("C:1", "':'"), ("", "is empty")],
)
def test_a_contribution_ref_that_does_not_fit_is_refused(city: App, ref: str, says: str) -> None:
    person = add_person(city, 1)
    before = rows(city)
    cmd = ContributionCmd(person.id_number, DAY, ("medical",), key=ref)
    with pytest.raises(InvalidInput, match=says), city.uow() as uow:
        record_contribution(uow=uow, cmd=cmd)
    assert rows(city) == before


def test_a_card_number_in_full_width_letters_is_refused(city: App) -> None:
    with pytest.raises(InvalidInput, match="card number"):
        _card("Ａ１０００")(city)
    with city.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Card)).scalar_one() == 0


def test_a_deposit_that_would_take_the_balance_beyond_bigint_is_refused(city: App) -> None:
    """SQLite's SUM overflowed on the next balance read; PostgreSQL stored a balance too big."""
    person = cardholder(city, 1, "A10000001")
    with city.uow() as uow:
        cards.activate_financial(uow=uow, id_number=person.id_number, on=DAY)
    with city.uow() as uow:
        financial.deposit(uow=uow, id_number=person.id_number, amount_fen=100, on=DAY, key="D1")
    before = rows(city)
    with pytest.raises(InvalidInput, match="beyond its maximum"), city.uow() as uow:
        financial.deposit(
            uow=uow, id_number=person.id_number, amount_fen=MAX_FEN - 99, on=DAY, key="D2"
        )
    assert rows(city) == before
    with city.uow() as uow:
        financial.deposit(
            uow=uow, id_number=person.id_number, amount_fen=MAX_FEN - 100, on=DAY, key="D3"
        )
        assert uow.ledger.balance_of(accounts.financial_account(person.id)) == MAX_FEN


@pytest.mark.parametrize("year", [99999, 10000, 1899])
def test_a_resident_year_that_does_not_fit_yyyy_mm_is_refused(city: App, year: int) -> None:
    """Year 99999 was recorded as month '99999-01': on PostgreSQL a DataError in VARCHAR(7)."""
    person = add_person(city, 1)
    with city.uow() as uow:
        registry.enroll(uow=uow, id_number=person.id_number, scheme="resident", on=DAY)
    before = rows(city)
    cmd = ContributionCmd(person.id_number, DAY, ("medical",), year=year)
    with pytest.raises(InvalidInput, match="is not a year"), city.uow() as uow:
        record_contribution(uow=uow, cmd=cmd)
    assert rows(city) == before
