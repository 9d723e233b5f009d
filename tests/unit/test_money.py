"""Money at the edges: yuan text in, whole fen inside, yuan text out."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.domain.errors import InvalidInput
from yibao.domain.money import fen_to_yuan, parse_rate, round_half_up_to_fen, yuan_to_fen


@pytest.mark.parametrize(
    ("written", "fen"),
    [
        ("12.30", 1230),
        ("12.3", 1230),
        (12.3, 1230),  # a YAML float arrives as a Python float
        (12, 1200),
        ("0", 0),
        ("0.01", 1),
        ("1.230", 123),  # a trailing zero is not a third decimal
        (" 80 ", 8000),
        ("20000", 2_000_000),
        (4000.25, 400_025),
    ],
)
def test_yuan_amounts_are_read_exactly_into_fen(written: object, fen: int) -> None:
    assert yuan_to_fen(written) == fen


def test_a_float_is_read_by_its_written_digits_not_its_binary_value() -> None:
    # 0.29 * 100 == 28.999999999999996 in binary floating point
    assert yuan_to_fen(0.29) == 29


def test_a_float_computed_in_binary_is_refused_rather_than_silently_rounded() -> None:
    with pytest.raises(InvalidInput, match="more than two decimals"):
        yuan_to_fen(0.1 + 0.2)  # 0.30000000000000004


@pytest.mark.parametrize("written", ["0.005", "12.345", 0.001, "1.2301"])
def test_an_amount_with_three_significant_decimals_is_refused(written: object) -> None:
    with pytest.raises(InvalidInput, match="more than two decimals"):
        yuan_to_fen(written)


@pytest.mark.parametrize("written", ["-0.01", -5, "-12.30"])
def test_a_negative_amount_is_refused(written: object) -> None:
    with pytest.raises(InvalidInput, match="negative"):
        yuan_to_fen(written)


def test_a_negative_amount_is_accepted_where_the_caller_allows_it() -> None:
    assert yuan_to_fen("-12.30", allow_negative=True) == -1230


@pytest.mark.parametrize("written", ["abc", "", "12,30", "NaN", "Infinity", True, None, [1]])
def test_a_value_that_is_not_a_finite_number_is_refused_naming_the_field(
    written: object,
) -> None:
    with pytest.raises(InvalidInput) as caught:
        yuan_to_fen(written, field="contribution_base.floor")
    assert caught.value.field == "contribution_base.floor"
    assert str(caught.value).startswith("contribution_base.floor:")


@pytest.mark.parametrize(
    ("fen", "yuan"),
    [(0, "0.00"), (5, "0.05"), (1230, "12.30"), (100, "1.00"), (-5, "-0.05"), (-1230, "-12.30")],
)
def test_fen_are_shown_as_yuan_with_two_decimals(fen: int, yuan: str) -> None:
    assert fen_to_yuan(fen) == yuan


@pytest.mark.parametrize(
    ("exact", "fen"),
    [
        (Decimal("0.5"), 1),
        (Decimal("1.5"), 2),
        (Decimal("2.5"), 3),  # half up, not to even
        (Decimal("2.4999"), 2),
        (Decimal("8000.5"), 8001),
        (Decimal("0.4"), 0),
        (Decimal("-2.5"), -3),  # away from zero
    ],
)
def test_exact_fen_are_rounded_half_up(exact: Decimal, fen: int) -> None:
    assert round_half_up_to_fen(exact) == fen


@pytest.mark.parametrize("written", ["1.5", "-0.01", "abc"])
def test_a_rate_outside_zero_to_one_is_refused(written: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rate(written, field="employee_rate")
    assert caught.value.field == "employee_rate"


def test_a_rate_is_read_exactly() -> None:
    assert parse_rate(0.008, field="rate") == Decimal("0.008")


# Up to BIGINT range: the amount column of the ledger is a 64-bit integer.
@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_showing_fen_as_yuan_and_reading_them_back_gives_the_same_fen(fen: int) -> None:
    assert yuan_to_fen(fen_to_yuan(fen)) == fen


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_negative_amounts_round_trip_where_allowed(fen: int) -> None:
    assert yuan_to_fen(fen_to_yuan(fen), allow_negative=True) == fen


@pytest.mark.parametrize("written", ["1e3", "1E3", "1_000", "１０", "٣", "۳", "0x10", "1.2.3", "."])
def test_an_amount_is_written_in_ascii_digits_only(written: str) -> None:
    with pytest.raises(InvalidInput, match="digits 0-9"):
        yuan_to_fen(written, field="amount")
