"""What the personal account pays at the POS (pure rules)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.domain.errors import InvalidInput
from yibao.domain.settlement import (
    MAX_QUANTITY,
    LineItem,
    check_lines,
    eligible_fen,
    personal_share,
    total_fen,
)

FEN = st.integers(min_value=-(10**12), max_value=10**12)


@given(eligible=st.integers(min_value=0, max_value=10**12), balance=FEN)
def test_the_account_pays_what_it_may_up_to_its_balance_and_never_below_zero(
    eligible: int, balance: int
) -> None:
    share = personal_share(eligible, balance)

    assert 0 <= share <= eligible
    assert share <= max(balance, 0)
    assert share in (eligible, max(balance, 0))


def test_a_balance_short_of_the_bill_is_paid_out_whole() -> None:
    assert personal_share(eligible=5_000, balance=3_210) == 3_210
    assert personal_share(eligible=5_000, balance=8_000) == 5_000
    assert personal_share(eligible=5_000, balance=0) == 0


def test_only_lines_within_the_catalogue_count_toward_what_the_account_may_pay() -> None:
    lines = [LineItem("DRUG", 2, 3_000, True), LineItem("SELF", 1, 1_250, False)]

    assert (total_fen(lines), eligible_fen(lines)) == (4_250, 3_000)


@pytest.mark.parametrize(
    "lines",
    [[], [LineItem("DRUG", 0, 100, True)], [LineItem("DRUG", 1, -1, True)]],
    ids=["no-lines", "zero-quantity", "negative-amount"],
)
def test_a_sale_without_lines_or_with_a_bad_line_is_invalid(lines: list[LineItem]) -> None:
    with pytest.raises(InvalidInput):
        check_lines(lines)


def test_a_quantity_beyond_the_line_column_is_refused() -> None:
    with pytest.raises(InvalidInput, match="quantity"):
        check_lines([LineItem("A01", MAX_QUANTITY + 1, 100, account_may_pay=True)])


def test_a_total_beyond_bigint_is_refused_though_each_line_fits() -> None:
    lines = [LineItem("A01", 1, 2**62, account_may_pay=True)] * 2
    with pytest.raises(InvalidInput, match="total"):
        check_lines(lines)
