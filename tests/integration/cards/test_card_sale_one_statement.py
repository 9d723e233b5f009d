"""The common card sale in one statement on PostgreSQL (`services.settlement.card_sale`), with a
card + PIN or an electronic card: what it writes is what the old way writes, on both backends;
where the statement does not take the sale it writes nothing and the old way answers, counting
a wrong PIN once and spending an electronic card once."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.integration.cards.cardholders import (
    AREA,
    DAY,
    NOW,
    PIN,
    SECRET,
    card_of,
    cardholder,
    ledger_problems,
    line,
    settle,
    settlement_count,
)
from yibao.adapters.tables import (
    Card,
    ElectronicCardUse,
    LedgerAccount,
    LedgerTransfer,
    Person,
    Settlement,
)
from yibao.bootstrap import App
from yibao.domain.cards import WrongPin
from yibao.domain.errors import Conflict
from yibao.domain.national_codes import national_codes
from yibao.domain.pooled import Visit
from yibao.domain.schemes import Scheme
from yibao.domain.settlement import LineItem, line_fingerprint
from yibao.ledger import accounts
from yibao.services import cards, registry
from yibao.services.cards.electronic_card import (
    ElectronicCardUsed,
    EvoucherSuspended,
    InvalidElectronicCard,
    electronic_card_payload,
    set_evoucher_status,
)
from yibao.services.settlement import CardAndPin, ElectronicCard, card_sale


def _posted_by_the_first_statement(monkeypatch: pytest.MonkeyPatch, function: str) -> list[bool]:
    """Whether each sale's first statement (`card_sale.<function>`) posted it."""
    taken: list[bool] = []
    read_and_post = getattr(card_sale, function)

    def spied(runner: Any, params: dict[str, object]) -> Any:
        found = read_and_post(runner, params)
        taken.append(found[1] is not None)
        return found

    monkeypatch.setattr(card_sale, function, spied)
    return taken


@pytest.fixture
def one_statement(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each sale's first statement posted it (PostgreSQL's card sales only)."""
    return _posted_by_the_first_statement(monkeypatch, "read_and_post")


@pytest.fixture
def electronic_one_statement(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """As `one_statement`, for PostgreSQL's electronic card sales."""
    return _posted_by_the_first_statement(monkeypatch, "read_and_post_electronic")


def payload(person: Person) -> ElectronicCard:
    return ElectronicCard(
        electronic_card_payload(
            person_id=person.id, area_code=person.area_code, now=NOW, seconds=300, secret=SECRET
        )
    )


def retiree(app: App, sequence: int, card_no: str, fen: int) -> Person:
    person = cardholder(app, sequence, card_no, fen)
    with app.uow() as uow:
        registry.enroll(uow=uow, id_number=person.id_number, scheme="retiree", on=DAY)
    return person


def retiree_after_a_first_sale(city: App) -> None:
    """Card C1's holder, 100.00 yuan, after the pharmacy's first sale (it opens the payable)."""
    retiree(city, 1, "C1", fen=10_000)
    settle(city, "C1", "R0", line(100))


def test_the_fingerprint_is_the_sale_as_sorted_json() -> None:
    lines = (line(1_200), LineItem("药-2", 2, 300, False, preselfpay_fen=100))
    for visit in (None, Visit.PHARMACY, Visit.INPATIENT):
        content = {
            "lines": [line_fingerprint(item) for item in lines],
            "payer": 7,
            "patient": 12,
            **({} if visit is None else {"visit": str(visit)}),
        }
        text = json.dumps(content, sort_keys=True)
        expected = hashlib.sha256(text.encode()).hexdigest()
        assert card_sale.fingerprint(lines, visit, 7, 12) == expected


def test_a_card_sale_writes_what_the_old_way_writes(city: App, one_statement: list[bool]) -> None:
    person = retiree(city, 1, "C1", fen=11_000)
    settle(city, "C1", "R0", line(1_000))  # the pharmacy's first sale opens its payable
    lines = (line(1_500), line(800, may_pay=False, code="SELF-PAY"))

    receipt = settle(city, "C1", "R1", *lines)

    postgresql = city.engine.dialect.name == "postgresql"
    assert one_statement == ([False, True] if postgresql else [])
    assert (receipt.personal_fen, receipt.own_fen, receipt.balance_after_fen) == (1_500, 800, 8_500)
    codes = national_codes(scheme=Scheme.RETIREE, birth_date=DAY, visit=Visit.PHARMACY, on=DAY)
    with city.uow() as uow:
        row = uow.session.scalars(select(Settlement).where(Settlement.ref == "R1")).one()
        transfer = uow.session.scalars(
            select(LedgerTransfer).where(LedgerTransfer.key == "settle:P001:R1")
        ).one()
        debit = uow.session.get(LedgerAccount, transfer.debit_account_id)
        payable = uow.session.get(LedgerAccount, transfer.credit_account_id)
    assert row.fingerprint == card_sale.fingerprint(lines, None, person.id, person.id)
    assert (row.insutype, row.psn_type, row.med_type, row.clr_type) == (
        codes.insutype, codes.psn_type, codes.med_type, codes.clr_type
    )  # fmt: skip
    assert (row.visit, row.ratio, row.fund_fen, row.deductible_fen) == ("pharmacy", "0", 0, 0)
    assert (row.payer_person_id, row.patient_person_id) == (person.id, person.id)
    own = accounts.personal_account(AREA, person.id)
    assert debit is not None
    assert (debit.book, debit.code) == (own.book, own.code)
    assert payable is not None
    assert payable.code == accounts.institution_payable(AREA, "P001").code
    assert (transfer.key, transfer.amount_fen, transfer.kind) == (
        "settle:P001:R1",
        1_500,
        "settlement",
    )
    assert ledger_problems(city) == []


def test_a_retry_answers_as_the_first_sale_and_other_content_is_refused(
    city: App, one_statement: list[bool]
) -> None:
    retiree_after_a_first_sale(city)
    first = settle(city, "C1", "R1", line(1_500))

    again = settle(city, "C1", "R1", line(1_500))
    with pytest.raises(Conflict):
        settle(city, "C1", "R1", line(1_600))

    assert again == first
    assert settlement_count(city) == 2
    if city.engine.dialect.name == "postgresql":
        assert one_statement == [False, True, False, False]
    assert ledger_problems(city) == []


def test_a_wrong_pin_is_counted_once_and_writes_nothing(
    city: App, one_statement: list[bool]
) -> None:
    retiree_after_a_first_sale(city)

    with pytest.raises(WrongPin):
        settle(city, CardAndPin("C1", "999999"), "R1", line(1_500))

    assert card_of(city, "C1").failed_pin_tries == 1
    assert settlement_count(city) == 1
    assert not any(one_statement)


def test_a_hospital_visit_is_left_to_the_old_way(city: App, one_statement: list[bool]) -> None:
    retiree(city, 1, "C1", fen=10_000)

    receipt = settle(city, "C1", "R1", line(1_500), institution="H001")

    assert receipt.visit == "outpatient"
    assert settlement_count(city) == 1
    assert not any(one_statement)


def test_a_hash_with_a_random_salt_is_renewed_with_the_card_number(
    city: App, one_statement: list[bool]
) -> None:
    """A hash set by an earlier version, keyed with a random salt: the old way checks it and
    keys it anew with the card's number, and the next sale is one statement."""
    retiree(city, 1, "C1", fen=10_000)
    digest = hmac.new(cards._pin_pepper, f"r4nd0m${PIN}".encode(), "sha256").hexdigest()
    with city.uow() as uow:
        uow.session.execute(
            update(Card)
            .where(Card.card_no == "C1")
            .values(pin_hash=f"$hmac-sha256$keyed$r4nd0m${digest}")
        )

    settle(city, "C1", "R1", line(1_000))
    renewed = str(card_of(city, "C1").pin_hash)
    settle(city, "C1", "R2", line(1_000))

    assert renewed == cards.hash_pin(PIN, "C1")
    if city.engine.dialect.name == "postgresql":
        assert one_statement == [False, True]
    assert ledger_problems(city) == []


def test_an_electronic_card_sale_writes_what_the_old_way_writes(
    city: App, electronic_one_statement: list[bool]
) -> None:
    person = retiree(city, 1, "C1", fen=11_000)
    settle(city, "C1", "R0", line(1_000))  # the pharmacy's first sale opens its payable
    lines = (line(1_500), line(800, may_pay=False, code="SELF-PAY"))
    qr = payload(person)

    receipt = settle(city, qr, "R1", *lines)

    postgresql = city.engine.dialect.name == "postgresql"
    assert electronic_one_statement == ([True] if postgresql else [])
    assert (receipt.personal_fen, receipt.own_fen, receipt.balance_after_fen) == (1_500, 800, 8_500)
    assert receipt.patient == receipt.payer != ""
    codes = national_codes(scheme=Scheme.RETIREE, birth_date=DAY, visit=Visit.PHARMACY, on=DAY)
    with city.uow() as uow:
        row = uow.session.scalars(select(Settlement).where(Settlement.ref == "R1")).one()
        use = uow.session.scalars(select(ElectronicCardUse)).one()
        transfer = uow.session.scalars(
            select(LedgerTransfer).where(LedgerTransfer.key == "settle:P001:R1")
        ).one()
    assert row.card_id is None
    assert row.fingerprint == card_sale.fingerprint(lines, None, person.id, person.id)
    assert (row.insutype, row.psn_type, row.med_type, row.clr_type) == (
        codes.insutype, codes.psn_type, codes.med_type, codes.clr_type
    )  # fmt: skip
    assert (use.person_id, use.institution_id, use.ref) == (person.id, row.institution_id, "R1")
    assert (transfer.amount_fen, transfer.kind) == (1_500, "settlement")
    assert ledger_problems(city) == []


def test_an_electronic_card_retried_answers_as_its_sale_and_is_spent_once(
    city: App, electronic_one_statement: list[bool]
) -> None:
    person = retiree(city, 1, "C1", fen=10_000)
    settle(city, "C1", "R0", line(100))
    qr = payload(person)
    first = settle(city, qr, "R1", line(1_500))

    again = settle(city, qr, "R1", line(1_500))
    with pytest.raises(Conflict):
        settle(city, qr, "R1", line(1_600))
    with pytest.raises(ElectronicCardUsed):
        settle(city, qr, "R2", line(1_500))

    assert again == first
    assert settlement_count(city) == 2
    if city.engine.dialect.name == "postgresql":
        assert electronic_one_statement == [True, False, False, False]
    assert ledger_problems(city) == []


def test_an_electronic_card_of_another_area_is_not_posted_and_is_refused(
    city: App, electronic_one_statement: list[bool]
) -> None:
    """What another area's database issues for its person with the same id (signed with the
    same key): the statement's gate does not post it (the common sale otherwise), and the old
    way refuses it before anything is written."""
    person = retiree(city, 1, "C1", fen=10_000)
    settle(city, "C1", "R0", line(100))  # the pharmacy's first sale opens its payable
    other_area = ElectronicCard(
        electronic_card_payload(
            person_id=person.id, area_code="other", now=NOW, seconds=300, secret=SECRET
        )
    )

    with pytest.raises(InvalidElectronicCard, match="is of area other; this person is not"):
        settle(city, other_area, "R1", line(1_500))

    if city.engine.dialect.name == "postgresql":
        assert electronic_one_statement == [False]
    with city.uow() as uow:
        uses = uow.session.scalars(select(ElectronicCardUse)).all()
        balance = uow.ledger.balance_of(accounts.personal_account(AREA, person.id))
    assert (settlement_count(city), uses, balance) == (1, [], 9_900)
    assert settle(city, payload(person), "R1", line(1_500)).personal_fen == 1_500
    if city.engine.dialect.name == "postgresql":
        assert electronic_one_statement == [False, True]
    assert ledger_problems(city) == []


def test_a_suspended_electronic_card_or_a_lost_card_is_left_to_the_old_way(
    city: App, electronic_one_statement: list[bool]
) -> None:
    suspended = retiree(city, 1, "C1", fen=10_000)
    lost = retiree(city, 2, "C2", fen=10_000)
    settle(city, "C1", "R0", line(100))
    with city.uow() as uow:
        set_evoucher_status(uow=uow, id_number=suspended.id_number, active=False, on=DAY)
        cards.report_loss(uow=uow, id_number=lost.id_number, on=DAY)

    with pytest.raises(EvoucherSuspended):
        settle(city, payload(suspended), "R1", line(1_500))
    receipt = settle(city, payload(lost), "R2", line(1_500))  # the policy does not stop it

    assert receipt.personal_fen == 1_500
    assert settlement_count(city) == 2
    if city.engine.dialect.name == "postgresql":
        assert electronic_one_statement == [False, False]
    assert ledger_problems(city) == []
