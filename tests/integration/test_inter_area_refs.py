"""A cross-area bill's reference claimed in the insured area's book by a 2102 and by a 2601:
the second claim waits for the first's transaction, then reads what it decided."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine

from yibao.bootstrap import App
from yibao.services.settlement.across_areas_refs import BARRED, SETTLED, claim_ref

TREATING, PHARMACY = "110000", "B001"


def _claim(app: App, ref: str, outcome: str) -> str | None:
    with app.uow() as uow:
        return claim_ref(
            uow=uow, treating_area=TREATING, institution_code=PHARMACY, ref=ref, outcome=outcome
        )


@pytest.mark.parametrize("committed", [True, False])
def test_a_claim_in_flight_is_waited_for_and_decides_only_if_it_commits(
    engine: Engine, committed: bool
) -> None:
    app = App(engine)
    found: list[str | None] = []
    waiting = threading.Thread(target=lambda: found.append(_claim(app, "M1", BARRED)))
    with app.uow() as first:
        mine = claim_ref(
            uow=first, treating_area=TREATING, institution_code=PHARMACY, ref="M1", outcome=SETTLED
        )
        assert mine is None  # claimed by this transaction
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive()  # the bar waits on the key, not past it
        if not committed:
            first.session.rollback()
    waiting.join(30)
    assert found == ([SETTLED] if committed else [None])  # a rolled-back claim decided nothing


def test_a_claim_made_before_is_read_by_every_later_one(engine: Engine) -> None:
    app = App(engine)
    assert _claim(app, "M2", BARRED) is None
    assert _claim(app, "M2", BARRED) == BARRED  # a 2601 sent again
    assert _claim(app, "M2", SETTLED) == BARRED  # its 2102, late
    assert _claim(app, "M3", SETTLED) is None
    assert _claim(app, "M3", BARRED) == SETTLED
