"""Example City with insured persons holding active cards: the world of the card and POS tests.

Migrating a fresh PostgreSQL schema takes most of a second, and the services commit their own
transactions (a POS settlement is two), so a test cannot run inside one transaction rolled back
at the end. These modules share one migrated database per backend instead, emptied before each
test: every test still starts from nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import yaml
from sqlalchemy import Engine, func, select, text

from tests.conftest import PG_URL, require_postgres
from tests.scenario_files import EXAMPLES
from yibao.adapters.db import scratch_database
from yibao.adapters.tables import Base, Card, LedgerTransfer, Person, Settlement
from yibao.bootstrap import App
from yibao.domain.idnumber import make_id_number
from yibao.ledger import accounts
from yibao.ledger.check import Problem, check_ledger
from yibao.services import cards, registry, settlement
from yibao.services.settlement import CardAndPin, ElectronicCard, LineItem, Receipt, SettleCmd

AREA = "420100"
DAY = dt.date(2024, 3, 1)
NOW = dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.UTC)
PIN = "123456"
SECRET = "s"
POOL = accounts.pooled_fund(AREA)


@contextmanager
def shared_database(backend: str) -> Iterator[Engine]:
    """A migrated database on `backend` for a whole test module."""
    if backend == "postgresql":
        require_postgres()
    with scratch_database(PG_URL if backend == "postgresql" else None) as engine:
        yield engine


def emptied(engine: Engine) -> App:
    """The app over `engine` with every table emptied (the migrations' bookkeeping stays).

    On PostgreSQL postings are append-only (migration 0009): the owner lifts that for the
    emptying, inside its transaction, as an operator would to wipe a test database. The audit
    trail stays whole: emptied, its chains' heads would be gone too.
    """
    on_postgresql = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if on_postgresql:
            connection.execute(text("ALTER TABLE ledger_transfer DISABLE TRIGGER USER"))
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in ("audit_chain", "audit_entry"):
                connection.execute(table.delete())
        if on_postgresql:
            connection.execute(text("ALTER TABLE ledger_transfer ENABLE TRIGGER USER"))
            connection.execute(text("ALTER TABLE ledger_key DISABLE TRIGGER USER"))
            connection.execute(text("DELETE FROM ledger_key"))  # the keys' claims (0025)
            connection.execute(text("ALTER TABLE ledger_key ENABLE TRIGGER USER"))
    return App(engine)


def area_document(code: str = AREA, **blocks: Any) -> dict[str, Any]:
    """The `area` block of scenario 05, with `blocks` (`card`, `family_aid`) in every policy."""
    text = (EXAMPLES / "05_spent_to_zero_then_refunded.yaml").read_text()
    area: dict[str, Any] = yaml.safe_load(text)["area"]
    area["code"] = code
    for policy in area["policies"]:
        policy.update(blocks)
    return area


def example_city(app: App, **blocks: Any) -> None:
    """The area (its policy extended with `blocks`), a pharmacy and a hospital."""
    with app.uow() as uow:
        registry.load_area(uow=uow, document=area_document(**blocks))
        registry.add_institution(
            uow=uow, code="P001", name="Example Pharmacy", kind="pharmacy", area_code=AREA
        )
        registry.add_institution(
            uow=uow, code="H001", name="Example People's Hospital", kind="hospital", area_code=AREA
        )


def add_person(app: App, sequence: int, name: str = "") -> Person:
    with app.uow() as uow:
        return registry.add_person(
            uow=uow,
            id_number=make_id_number("420102", dt.date(1980, 4, 1), sequence),
            name=name or f"Person {sequence}",
            area_code=AREA,
        )


def give_card(app: App, person: Person, card_no: str, pin: str = PIN) -> None:
    """Issue the card and activate its medical function with `pin`."""
    with app.uow() as uow:
        cards.issue_card(uow=uow, id_number=person.id_number, card_no=card_no, on=DAY)
    with app.uow() as uow:
        cards.activate_card(uow=uow, id_number=person.id_number, on=DAY, pin=pin)


def insure(app: App, person: Person, on: dt.date = DAY) -> None:
    """Enrol `person` in the resident scheme from `on` (family aid needs a member insured)."""
    with app.uow() as uow:
        registry.enroll(uow=uow, id_number=person.id_number, scheme="resident", on=on)


def cardholder(app: App, sequence: int, card_no: str, fen: int = 0) -> Person:
    """A person with an active card and PIN, credited `fen` on their personal account."""
    person = add_person(app, sequence)
    give_card(app, person, card_no)
    if fen:
        credit(app, person, fen)
    return person


def credit(app: App, person: Person, fen: int, key: str = "") -> None:
    with app.uow() as uow:
        uow.ledger.transfer(
            key=key or f"credit:{person.id}:{fen}",
            debit=POOL,
            credit=accounts.personal_account(AREA, person.id),
            amount_fen=fen,
            value_date=DAY,
            kind="crediting",
        )


OPENING_CREDIT = re.compile(r"\(crediting credit:\d+:\d+\) has no cause$")


def ledger_problems(app: App) -> list[Problem]:
    """`check_ledger`'s findings, less the opening credits `credit` posts without a contribution.

    These tests are about what is done with the money, not about how it came: every other
    posting (sales, refunds, clearings, the bank's) must still reconcile with its cause.
    """
    with app.uow() as uow:
        problems = check_ledger(uow.ledger)
    return [
        p
        for p in problems
        if not (p.invariant == "posting_caused" and OPENING_CREDIT.search(p.detail))
    ]


def medical_balance(app: App, person: Person) -> int:
    with app.uow() as uow:
        return uow.ledger.balance_of(accounts.personal_account(AREA, person.id))


def financial_balance(app: App, person: Person) -> int:
    with app.uow() as uow:
        return uow.ledger.balance_of(accounts.financial_account(person.id))


def card_of(app: App, card_no: str) -> Card:
    with app.uow() as uow:
        return cards.card_by_number(uow=uow, card_no=card_no)


def line(fen: int, *, may_pay: bool = True, code: str = "DRUG-1", quantity: int = 1) -> LineItem:
    return LineItem(code, quantity, fen, account_may_pay=may_pay)


def settle(
    app: App,
    credential: CardAndPin | ElectronicCard | str,
    ref: str,
    *lines: LineItem,
    institution: str = "P001",
    payer: Person | None = None,
    on: dt.date = DAY,
    now: dt.datetime = NOW,
) -> Receipt:
    """Settle at the POS; a bare card number is presented with the right PIN."""
    if isinstance(credential, str):
        credential = CardAndPin(credential, PIN)
    cmd = SettleCmd(
        institution_code=institution,
        ref=ref,
        credential=credential,
        lines=tuple(lines),
        on=on,
        payer_id_number=payer.id_number if payer is not None else None,
    )
    return settlement.settle(uow_factory=app.uow, cmd=cmd, now=now, card_secret=SECRET)


def settlement_count(app: App) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Settlement)) or 0)


def transfer_count(app: App, kind: str | None = None) -> int:
    query = select(func.count()).select_from(LedgerTransfer)
    if kind is not None:
        query = query.where(LedgerTransfer.kind == kind)
    with app.uow() as uow:
        return int(uow.session.scalar(query) or 0)
