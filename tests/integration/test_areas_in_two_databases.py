"""One database per planning area: a person of A settles at B's pharmacy (异地就医).

Two areas in two databases (two SQLite files, or two PostgreSQL schemas): each book checks on
its own, and B's receivable from A is A's payable to B.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import PG_URL
from tests.integration.cards.cardholders import AREA, DAY, area_document, credit, ledger_problems
from tests.integration.cards.hospital import POOLED
from yibao.adapters.db import scratch_database
from yibao.bootstrap import App, area_databases
from yibao.config import Settings
from yibao.domain.errors import Conflict, InvalidInput
from yibao.domain.idnumber import make_id_number
from yibao.ledger import accounts
from yibao.services import registry
from yibao.services.areas import AreaDatabases
from yibao.services.settlement import AlreadyRefunded
from yibao.services.settlement.across_areas import CrossAreaBill, settle_across_areas
from yibao.services.settlement.across_areas_refund import refund_across_areas
from yibao.services.uow import UnitOfWork

TREATING = "110000"
ID_NUMBER = make_id_number("420102", dt.date(1975, 6, 1), 17)


@pytest.fixture
def books(backend: str) -> Iterator[tuple[App, App]]:
    """Area A (the insured person's) and area B (the pharmacy's), each in its own database."""
    url = PG_URL if backend == "postgresql" else None
    with scratch_database(url) as insured, scratch_database(url) as treating:
        a, b = App(insured, today=lambda: DAY), App(treating, today=lambda: DAY)
        with a.uow() as uow:
            registry.load_area(uow=uow, document=area_document(AREA))
            registry.add_person(uow=uow, id_number=ID_NUMBER, name="Sun Mei", area_code=AREA)
        with b.uow() as uow:
            registry.load_area(uow=uow, document=area_document(TREATING))
            registry.add_institution(
                uow=uow, code="B001", name="Capital Pharmacy", kind="pharmacy", area_code=TREATING
            )
        with a.uow() as uow:
            person = registry.person_by_id_number(uow=uow, id_number=ID_NUMBER)
        credit(a, person, 5_000)
        yield a, b


def _router(a: App, b: App, treating: Callable[[], UnitOfWork] | None = None) -> AreaDatabases:
    return AreaDatabases({AREA: a.uow, TREATING: treating or b.uow})


def _bill(ref: str, fen: int) -> CrossAreaBill:
    return CrossAreaBill(ID_NUMBER, AREA, "B001", ref, fen, DAY)


def _balance(app: App, ref: accounts.AccountRef) -> int:
    with app.uow() as uow:
        return uow.ledger.balance_of(ref)


def _positions(a: App, b: App) -> tuple[int, int, int]:
    """A's payable to B, B's receivable from A, and what B owes its pharmacy."""
    return (
        _balance(a, accounts.inter_area(AREA, TREATING)),
        -_balance(b, accounts.inter_area(TREATING, AREA)),
        _balance(b, accounts.institution_payable(TREATING, "B001")),
    )


def test_a_bill_in_another_area_is_paid_by_the_insured_book_and_owed_by_area_to_area(
    books: tuple[App, App],
) -> None:
    a, b = books
    areas = _router(a, b)
    first = settle_across_areas(areas=areas, bill=_bill("RX-1", 3_000))
    assert (first.treating_area, first.personal_fen, first.own_fen) == (TREATING, 3_000, 0)
    assert settle_across_areas(areas=areas, bill=_bill("RX-1", 3_000)) == first  # a retry
    second = settle_across_areas(areas=areas, bill=_bill("RX-2", 4_000))
    assert (second.personal_fen, second.own_fen) == (2_000, 2_000)  # up to the balance

    with a.uow() as uow:
        person = registry.person_by_id_number(uow=uow, id_number=ID_NUMBER)
    assert _balance(a, accounts.personal_account(AREA, person.id)) == 0
    assert _positions(a, b) == (5_000, 5_000, 5_000)
    assert ledger_problems(a) == []
    assert ledger_problems(b) == []


def test_a_crash_between_the_two_books_is_completed_by_the_retry(
    books: tuple[App, App],
) -> None:
    a, b = books
    calls = 0

    def crashing() -> UnitOfWork:  # the treating area's database goes away after its reads
        nonlocal calls  # (the institution looked up, then its kind and level read)
        calls += 1
        if calls > 2:
            raise ConnectionError("the treating area's database is unreachable")
        return b.uow()

    with pytest.raises(ConnectionError):
        settle_across_areas(areas=_router(a, b, crashing), bill=_bill("RX-9", 1_500))
    assert _positions(a, b) == (1_500, 0, 0)  # A paid; B does not know it yet

    receipt = settle_across_areas(areas=_router(a, b), bill=_bill("RX-9", 1_500))
    assert receipt.personal_fen == 1_500
    assert _positions(a, b) == (1_500, 1_500, 1_500)
    assert ledger_problems(a) == []
    assert ledger_problems(b) == []


def test_the_same_bill_with_other_content_and_an_unrouted_area_are_refused(
    books: tuple[App, App],
) -> None:
    a, b = books
    areas = _router(a, b)
    settle_across_areas(areas=areas, bill=_bill("RX-3", 1_000))
    with pytest.raises(Conflict):
        settle_across_areas(areas=areas, bill=_bill("RX-3", 1_200))
    with pytest.raises(InvalidInput, match="has no database here"):
        areas.uow("310000")
    with pytest.raises(InvalidInput, match="is in the insured area"):
        settle_across_areas(
            areas=areas, bill=CrossAreaBill(ID_NUMBER, TREATING, "B001", "X", 1, DAY)
        )
    assert _positions(a, b) == (1_000, 1_000, 1_000)


def test_the_area_databases_setting_opens_each_area_and_refuses_a_malformed_map(
    tmp_path: Path,
) -> None:
    urls = {code: f"sqlite:///{tmp_path}/{code}.db" for code in (AREA, TREATING)}
    areas = area_databases(Settings(area_databases=json.dumps(urls)))
    assert areas is not None
    assert areas.areas == (TREATING, AREA)
    with areas.uow(TREATING) as uow:  # migrated: its tables are there
        assert registry.area_codes(uow=uow) == []
    for malformed in ("[1, 2]", "{not json", json.dumps({"42": urls[AREA]})):
        with pytest.raises(InvalidInput, match="YIBAO_AREA_DATABASES"):
            area_databases(Settings(area_databases=malformed))
    assert area_databases(Settings()) is None


@pytest.fixture
def hospital_books(backend: str) -> Iterator[tuple[App, App]]:
    """Area A with a pooled fund in its policy and an employee insured there; area B, whose
    policy has no pooled fund, with a level-3 hospital."""
    url = PG_URL if backend == "postgresql" else None
    with scratch_database(url) as insured, scratch_database(url) as treating:
        a, b = App(insured, today=lambda: DAY), App(treating, today=lambda: DAY)
        with a.uow() as uow:
            registry.load_area(uow=uow, document=area_document(AREA, pooled=POOLED))
            registry.add_person(uow=uow, id_number=ID_NUMBER, name="Sun Mei", area_code=AREA)
            registry.enroll(uow=uow, id_number=ID_NUMBER, scheme="flexible", tier="full", on=DAY)
        with b.uow() as uow:
            registry.load_area(uow=uow, document=area_document(TREATING))
            registry.add_institution(
                uow=uow, code="H3", name="Capital Hospital", kind="hospital", area_code=TREATING,
                level=3,
            )  # fmt: skip
        with a.uow() as uow:
            person = registry.person_by_id_number(uow=uow, id_number=ID_NUMBER)
        credit(a, person, 5_000)
        yield a, b


def test_the_insured_areas_fund_pays_its_share_of_a_bill_in_another_area_by_its_own_policy(
    hospital_books: tuple[App, App],
) -> None:
    a, b = hospital_books
    areas = _router(a, b)
    # A's employee outpatient rules at level 3: deductible 200 yuan, then 50 %
    first = settle_across_areas(
        areas=areas, bill=CrossAreaBill(ID_NUMBER, AREA, "H3", "OP-1", 70_000, DAY, 60_000)
    )
    assert (first.fund_fen, first.deductible_fen, first.visit) == (20_000, 20_000, "outpatient")
    assert (first.personal_fen, first.own_fen) == (5_000, 45_000)  # the account had 50 yuan
    # the deductible was used up by the first bill, in A's record of the year
    second = settle_across_areas(
        areas=areas, bill=CrossAreaBill(ID_NUMBER, AREA, "H3", "OP-2", 10_000, DAY, 10_000)
    )
    assert (second.fund_fen, second.deductible_fen, second.personal_fen) == (5_000, 0, 0)
    owed = 20_000 + 5_000 + 5_000
    assert _balance(a, accounts.inter_area(AREA, TREATING)) == owed
    assert -_balance(b, accounts.inter_area(TREATING, AREA)) == owed
    assert _balance(b, accounts.institution_payable(TREATING, "H3")) == owed
    assert _balance(a, accounts.pooled_fund(AREA)) == -5_000 - 25_000  # opening credit, shares
    again = settle_across_areas(
        areas=areas, bill=CrossAreaBill(ID_NUMBER, AREA, "H3", "OP-1", 70_000, DAY, 60_000)
    )
    assert again == first
    assert ledger_problems(a) == []
    assert ledger_problems(b) == []


def _refund_lost_before_commit(areas: AreaDatabases, b: App, ref: str) -> None:
    """The refund, with the treating area's transaction lost before it commits."""
    with b.uow() as uow:
        refund_across_areas(areas=areas, treating_uow=uow, institution_code="H3", ref=ref, on=DAY)
        raise RuntimeError("the treating area's transaction is lost")


def test_a_cross_area_bill_is_refunded_whole_in_both_books_and_a_crash_is_completed(
    hospital_books: tuple[App, App],
) -> None:
    a, b = hospital_books
    areas = _router(a, b)
    settle_across_areas(
        areas=areas, bill=CrossAreaBill(ID_NUMBER, AREA, "H3", "OP-1", 70_000, DAY, 60_000)
    )
    with pytest.raises(RuntimeError):
        _refund_lost_before_commit(areas, b, "OP-1")
    assert _balance(a, accounts.inter_area(AREA, TREATING)) == 0  # A gave back already
    assert -_balance(b, accounts.inter_area(TREATING, AREA)) == 25_000
    with b.uow() as uow:
        receipt = refund_across_areas(
            areas=areas, treating_uow=uow, institution_code="H3", ref="OP-1", on=DAY
        )
    assert (receipt.fund_fen, receipt.personal_fen) == (20_000, 5_000)
    assert receipt.balance_after_fen == 5_000
    assert _positions(a, b) == (0, 0, 0)
    assert _balance(a, accounts.pooled_fund(AREA)) == -5_000  # only the opening credit
    with pytest.raises(AlreadyRefunded), b.uow() as uow:
        refund_across_areas(
            areas=areas, treating_uow=uow, institution_code="H3", ref="OP-1", on=DAY
        )
    # the year's deductible is free again: the next bill meets it whole
    again = settle_across_areas(
        areas=areas, bill=CrossAreaBill(ID_NUMBER, AREA, "H3", "OP-2", 70_000, DAY, 60_000)
    )
    assert (again.fund_fen, again.deductible_fen) == (20_000, 20_000)
    assert ledger_problems(a) == []
    assert ledger_problems(b) == []
