"""The balance a personal account keeps on its row, and the bulk credits folded into it.

A bulk posting (the crediting run) does not move the rows of the accounts it credits: it records
a batch. Until the account's next debit folds the batch in, its balance is what the row keeps
plus those credits; afterwards the row holds them. Either way the balance is the sum of the
transfers, `yibao ledger check` says so, and a sale may spend the credits before they are folded.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Date, String, literal, select, text, union_all
from sqlalchemy.sql import Select

from tests.integration.cards.cardholders import (
    AREA,
    DAY,
    POOL,
    cardholder,
    credit,
    ledger_problems,
    line,
    medical_balance,
    settle,
)
from yibao.adapters.tables import Person
from yibao.bootstrap import App
from yibao.ledger import accounts, bulk_posting
from yibao.ledger.kinds import TransferKind


def _credits(*rows: tuple[str, int]) -> Select[Any]:
    """(key, amount_fen, value_date, memo) rows for `bulk_posting.post_between`; keyed as
    `cardholders.credit` keys its credits, which have no contribution behind them."""
    given = union_all(
        *(
            select(literal(key, String).label("key"), literal(fen).label("amount_fen"))
            for key, fen in rows
        )
    ).subquery("given")
    return select(
        given.c.key,
        given.c.amount_fen,
        literal(DAY, Date).label("value_date"),
        literal("bulk", String).label("memo"),
    )


def _bulk_credit(app: App, person: Person, *rows: tuple[str, int]) -> None:
    with app.uow() as uow:
        bulk_posting.post_between(
            uow.session,
            debit=POOL,
            debit_id=uow.ledger.account_id(POOL),
            credit_id=uow.ledger.account_id(accounts.personal_account(AREA, person.id)),
            rows=_credits(*rows),
            kind=TransferKind.CREDITING,
        )


def _kept(app: App, person: Person) -> tuple[int, int]:
    """(balance_fen, folded_batch_id) on the person's personal account row."""
    with app.uow() as uow:
        row = uow.session.execute(
            text(
                "SELECT balance_fen, folded_batch_id FROM ledger_account "
                "WHERE owner_person_id = :p AND kind = 'personal'"
            ),
            {"p": person.id},
        ).one()
    return int(row[0]), int(row[1])


def test_a_sale_spends_bulk_credits_and_folds_them_into_the_row(city: App) -> None:
    person = cardholder(city, 1, "C1", fen=10_000)
    other = cardholder(city, 2, "C2")
    _bulk_credit(city, person, (f"credit:{person.id}:1", 5_000), (f"credit:{person.id}:2", 2_000))
    _bulk_credit(city, other, (f"credit:{other.id}:1", 3_000))  # a batch crediting others only

    assert _kept(city, person) == (10_000, 0)  # the batch is not on the row
    assert medical_balance(city, person) == 17_000
    assert ledger_problems(city) == []

    receipt = settle(city, "C1", "r1", line(16_000))

    assert receipt.personal_fen == 16_000  # the unfolded credits paid too
    with city.uow() as uow:
        last_batch = uow.session.execute(text("SELECT max(id) FROM ledger_credit_batch")).scalar()
    assert _kept(city, person) == (1_000, last_batch)  # folded through the book's last batch
    assert medical_balance(city, person) == 1_000
    assert ledger_problems(city) == []


def test_the_check_finds_a_kept_balance_off_by_a_fen_before_and_after_the_fold(city: App) -> None:
    person = cardholder(city, 1, "C1", fen=10_000)
    _bulk_credit(city, person, (f"credit:{person.id}:1", 5_000))
    with city.uow() as uow:
        uow.session.execute(
            text(
                "UPDATE ledger_account SET balance_fen = balance_fen - 1 WHERE owner_person_id = :p"
            ),
            {"p": person.id},
        )
    assert [p.invariant for p in ledger_problems(city)] == ["kept_balance_matches"]

    settle(city, "C1", "r1", line(100))  # the fold carries the fen off the row into the next

    assert [p.invariant for p in ledger_problems(city)] == ["kept_balance_matches"]


def test_sales_and_single_credits_racing_bulk_credits_lose_nothing_and_count_nothing_twice(
    city: App,
) -> None:
    """Batches of fifty credits committed while sales fold and single credits (moving the row)
    take ids among theirs: every credit ends on the row once, or in a batch still to fold."""
    people = [cardholder(city, n, f"C{n}", fen=1_000) for n in range(1, 5)]
    stop = threading.Event()
    failures: list[BaseException] = []

    def bulk() -> None:
        try:
            for batch in range(6):
                for person in people:
                    rows = [(f"credit:{person.id}:{batch * 100 + k}", 10) for k in range(50)]
                    _bulk_credit(city, person, *rows)
        except BaseException as error:  # reported below
            failures.append(error)
        finally:
            stop.set()

    def single() -> None:
        made = 0
        try:
            while not stop.is_set():
                made += 1
                person = people[made % 4]
                credit(city, person, 300, key=f"credit:{person.id}:{90_000 + made}")
        except BaseException as error:  # reported below
            failures.append(error)

    def sell(number: int) -> None:
        person_card, sale = f"C{number % 4 + 1}", 0
        try:
            while not stop.is_set():
                sale += 1
                settle(city, person_card, f"r{number}-{sale}", line(450))
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=bulk), threading.Thread(target=single)]
    threads += [threading.Thread(target=sell, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    assert ledger_problems(city) == []  # no overdraft, every kept balance is its transfers'
    for number, person in enumerate(people, start=1):
        settle(city, f"C{number}", f"last-{person.id}", line(1))
        assert _kept(city, person)[0] == medical_balance(city, person)  # all folded now
