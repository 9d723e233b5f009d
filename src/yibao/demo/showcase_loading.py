"""Writing the showcase's stories through the services: the records before the crediting runs
(registry, contributions, cards), the sales after them (their value dates follow the credits)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from sqlalchemy import select

from yibao.adapters.tables import Person
from yibao.config import DEVELOPMENT_CARD_SECRET
from yibao.demo.showcase import EMPLOYER, PIN, SHOWCASE, SPLIT_OTHER, showcase_person
from yibao.domain.cards import PinLocked, WrongPin
from yibao.domain.months import Month
from yibao.services import cards, registry, settlement
from yibao.services.cards import family, financial
from yibao.services.contributions import ContributionCmd, record_contribution
from yibao.services.registry import record_links
from yibao.services.settlement import CardAndPin, LineItem, SettleCmd
from yibao.services.uow import UnitOfWork

D = dt.date
WINDOW = tuple(Month(2022, 10).plus(i) for i in range(12))  # the demo city's months
WAGE_BASE_FEN = 800_000
EMPLOYEE = ("pension", "medical")


def showcase_loaded(*, uow: UnitOfWork) -> bool:
    first = SHOWCASE[0].id_number
    return uow.session.scalar(select(Person.id).where(Person.id_number == first)) is not None


def load_showcase_records(*, uow_factory: Callable[[], UnitOfWork], area_code: str) -> None:
    """Every showcase person, job, scheme, contribution and card; before the crediting runs."""
    with uow_factory() as uow:
        registry.add_employer(uow=uow, code=EMPLOYER, name="演示科技有限公司", area_code=area_code)
        registry.register_employer(uow=uow, code=EMPLOYER, on=D(2015, 1, 5))
        for person in SHOWCASE:
            if person.key != "payer_at_atm":
                registry.add_person(
                    uow=uow, id_number=person.id_number, name=person.name, area_code=area_code
                )
        registry.add_person(uow=uow, id_number=SPLIT_OTHER, name="陈静", area_code=area_code)
        _jobs_and_schemes(uow)
        _contributions(uow)
        _cards(uow)


def _id(key: str) -> str:
    return showcase_person(key).id_number


def _employee(uow: UnitOfWork, id_number: str, hired: dt.date, registered: dt.date) -> None:
    registry.hire(uow=uow, id_number=id_number, employer_code=EMPLOYER, on=hired)
    registry.register_employee(uow=uow, id_number=id_number, employer_code=EMPLOYER, on=registered)


def _jobs_and_schemes(uow: UnitOfWork) -> None:
    hired, registered = D(2022, 9, 1), D(2022, 9, 5)
    for key in ("medical_left_out", "stopped", "card_issued", "card_lost", "card_replaced"):
        _employee(uow, _id(key), hired, registered)
    _employee(uow, _id("card_locked"), hired, registered)
    _employee(uow, _id("payer"), D(2022, 9, 20), D(2022, 9, 25))
    _employee(uow, _id("late_registration"), D(2022, 10, 1), D(2022, 12, 15))  # 75 days
    registry.hire(
        uow=uow, id_number=_id("not_registered"), employer_code=EMPLOYER, on=D(2023, 8, 1)
    )
    registry.hire(uow=uow, id_number=_id("pooled_only"), employer_code=EMPLOYER, on=D(2022, 9, 26))
    registry.register_employee(
        uow=uow,
        id_number=_id("pooled_only"),
        employer_code=EMPLOYER,
        on=D(2022, 9, 30),
        pooled_only=True,
    )
    registry.enroll(uow=uow, id_number=_id("spouse"), scheme="resident", on=D(2022, 1, 1))
    registry.enroll(
        uow=uow, id_number=_id("flexible_basic"), scheme="flexible", tier="basic", on=D(2022, 9, 1)
    )
    registry.enroll(
        uow=uow, id_number=_id("pending"), scheme="flexible", tier="full", on=D(2023, 9, 1)
    )
    registry.enroll(uow=uow, id_number=_id("retiree"), scheme="retiree", on=D(2020, 1, 1))
    # 陈静: an employee under her older number until January, then flexible under this one
    _employee(uow, SPLIT_OTHER, hired, registered)
    registry.leave(uow=uow, id_number=SPLIT_OTHER, employer_code=EMPLOYER, on=D(2023, 1, 31))
    split = _id("split_records")
    registry.enroll(uow=uow, id_number=split, scheme="flexible", tier="full", on=D(2023, 2, 1))
    record_links.link(uow=uow, id_number=split, other_id_number=SPLIT_OTHER, on=D(2023, 6, 1))


def _pay(
    uow: UnitOfWork,
    id_number: str,
    months: Iterable[Month],
    *,
    insurances: tuple[str, ...] = EMPLOYEE,
    base_fen: int = WAGE_BASE_FEN,
    day: int = 15,
) -> None:
    for month in months:
        cmd = ContributionCmd(
            id_number=id_number,
            received_on=month.first_day.replace(day=day),
            insurances=insurances,
            month=month,
            base_fen=base_fen,
        )
        record_contribution(uow=uow, cmd=cmd)


def _contributions(uow: UnitOfWork) -> None:
    for key in ("payer", "pooled_only", "card_issued", "card_lost", "card_replaced"):
        _pay(uow, _id(key), WINDOW)
    _pay(uow, _id("card_locked"), WINDOW)
    _pay(uow, _id("flexible_basic"), WINDOW, insurances=("medical",), base_fen=500_000)
    _pay(uow, _id("late_registration"), WINDOW[3:])  # from January 2023, after registration
    _pay(uow, _id("stopped"), WINDOW[:7])  # through April 2023
    left_out = WINDOW[5:8]  # March to May 2023: pension only
    _pay(uow, _id("medical_left_out"), [m for m in WINDOW if m not in left_out])
    _pay(uow, _id("medical_left_out"), left_out, insurances=("pension",))
    _pay(uow, SPLIT_OTHER, WINDOW[:4])
    _pay(uow, _id("split_records"), WINDOW[4:], insurances=("medical",), base_fen=600_000)
    _pay(uow, _id("pending"), WINDOW[11:], insurances=("medical",), base_fen=600_000, day=12)
    spouse = ContributionCmd(
        id_number=_id("spouse"), received_on=D(2022, 12, 20), insurances=("medical",), year=2023
    )
    record_contribution(uow=uow, cmd=spouse)


def _cards(uow: UnitOfWork) -> None:
    issued, activated = D(2022, 10, 8), D(2022, 10, 10)
    for key, card_no in (
        ("payer", "SC0001"),
        ("spouse", "SC0002"),
        ("card_lost", "SC0012"),
        ("card_replaced", "SC0013"),
        ("card_locked", "SC0014"),
    ):
        cards.issue_card(uow=uow, id_number=_id(key), card_no=card_no, on=issued)
        cards.activate_card(uow=uow, id_number=_id(key), on=activated, pin=PIN)
    cards.issue_card(uow=uow, id_number=_id("card_issued"), card_no="SC0011", on=D(2023, 9, 1))
    payer = _id("payer")
    cards.activate_financial(uow=uow, id_number=payer, on=activated)
    financial.deposit(uow=uow, id_number=payer, amount_fen=20_000, on=D(2022, 10, 11), key="SC-D1")
    family.bind(
        uow=uow,
        id_number=payer,
        member_id_number=_id("spouse"),
        relation="spouse",
        on=D(2023, 1, 5),
    )
    cards.report_loss(uow=uow, id_number=_id("card_lost"), on=D(2023, 6, 10))
    cards.report_loss(uow=uow, id_number=_id("card_replaced"), on=D(2023, 3, 1))
    cards.replace_card(
        uow=uow, id_number=_id("card_replaced"), new_card_no="SC0013R", on=D(2023, 3, 8)
    )


def load_showcase_sales(*, uow_factory: Callable[[], UnitOfWork], institution_code: str) -> None:
    """After the crediting runs: sales at the pharmacy, a refund, family aid, a locked card."""

    def sale(
        ref: str, card_no: str, on: dt.date, *items: LineItem, payer: str | None = None
    ) -> None:
        cmd = SettleCmd(institution_code, ref, CardAndPin(card_no, PIN), items, on, payer)
        # a card and PIN sale: the e-card secret is never read
        settlement.settle(
            uow_factory=uow_factory,
            cmd=cmd,
            now=dt.datetime.now(dt.UTC),
            card_secret=DEVELOPMENT_CARD_SECRET,
        )

    sale(
        "SC-S1",
        "SC0001",
        D(2023, 10, 8),
        LineItem("A01", 2, 3_550, account_may_pay=True),
        LineItem("B07", 1, 1_200, account_may_pay=False),
    )
    sale("SC-S2", "SC0001", D(2023, 10, 9), LineItem("A02", 1, 8_000, account_may_pay=True))
    with uow_factory() as uow:
        settlement.refund(
            uow=uow, ref="SC-S2", on=D(2023, 10, 10), institution_code=institution_code
        )
    sale(
        "SC-S3",
        "SC0002",
        D(2023, 10, 12),
        LineItem("A03", 1, 6_000, account_may_pay=True),
        payer=_id("payer"),
    )
    sale("SC-S4", "SC0013R", D(2023, 10, 13), LineItem("A01", 1, 2_500, account_may_pay=True))
    for _try in range(
        20
    ):  # wrong PINs until the card locks (the area's policy says after how many)
        try:
            cards.check_pin(
                uow_factory=uow_factory, card_no="SC0014", pin="000000", on=D(2023, 10, 15)
            )
        except PinLocked:
            return
        except WrongPin:
            continue
    raise AssertionError("the showcase card SC0014 did not lock")
