"""The 18-character ID number: shape, check character, birth date, sex, masking."""

from __future__ import annotations

import datetime as dt

import pytest

from yibao.domain.errors import InvalidInput
from yibao.domain.idnumber import IdNumber, check_character, make_id_number, mask

VALID = ("420102199003071232", "420106198511200046")


def _with_check_character(first17: str) -> str:
    return first17 + check_character(first17)


def _first17_with_check_x() -> str:
    """Digits 1-17 of a real-looking number whose check character is X."""
    for sequence in range(1000):
        number = make_id_number("420102", dt.date(1990, 3, 7), sequence)
        if number.endswith("X"):
            return number[:17]
    raise AssertionError("no sequence gives an X check character")  # pragma: no cover


@pytest.mark.parametrize("number", VALID)
def test_a_valid_number_is_accepted_unchanged(number: str) -> None:
    assert IdNumber.parse(number).value == number


@pytest.mark.parametrize(
    ("birth", "sequence"),
    [(dt.date(1958, 12, 31), 1), (dt.date(2000, 1, 1), 42), (dt.date(1992, 2, 29), 999)],
)
def test_numbers_built_by_make_id_number_are_valid(birth: dt.date, sequence: int) -> None:
    number = make_id_number("310104", birth, sequence)
    parsed = IdNumber.parse(number)
    assert parsed.value == number
    assert parsed.birth_date == birth


def test_a_number_whose_check_character_is_x_is_accepted() -> None:
    number = _first17_with_check_x() + "X"
    assert IdNumber.parse(number).value == number


def test_a_lowercase_x_is_accepted_and_normalised_to_uppercase() -> None:
    first17 = _first17_with_check_x()
    assert IdNumber.parse(first17 + "x").value == first17 + "X"


def test_surrounding_spaces_are_ignored() -> None:
    assert IdNumber.parse("  420102199003071232 ").value == "420102199003071232"


def test_a_wrong_check_character_is_refused() -> None:
    with pytest.raises(InvalidInput, match="check character") as caught:
        IdNumber.parse("420102199003071233")
    assert caught.value.field == "id_number"


def test_an_x_where_a_digit_check_character_belongs_is_refused() -> None:
    with pytest.raises(InvalidInput, match="check character"):
        IdNumber.parse("42010219900307123X")


@pytest.mark.parametrize(
    "number",
    [
        "42010219900307123",  # 17 characters
        "4201021990030712321",  # 19 characters
        "420102900307123",  # the old 15-digit form
        "",
    ],
)
def test_a_number_of_the_wrong_length_is_refused(number: str) -> None:
    with pytest.raises(InvalidInput, match="17 digits"):
        IdNumber.parse(number)


@pytest.mark.parametrize(
    "number",
    ["42010219900307123A", "4201021990O3071232", "X20102199003071232", "42010219900307-232"],
)
def test_letters_or_signs_among_the_digits_are_refused(number: str) -> None:
    with pytest.raises(InvalidInput, match="17 digits"):
        IdNumber.parse(number)


@pytest.mark.parametrize("birth", ["19900230", "19900431", "19901301", "19900001", "20230229"])
def test_an_impossible_birth_date_is_refused_even_with_a_correct_check_character(
    birth: str,
) -> None:
    number = _with_check_character(f"420102{birth}123")
    with pytest.raises(InvalidInput, match="birth date"):
        IdNumber.parse(number)


def test_a_birth_date_of_29_february_in_a_leap_year_is_accepted() -> None:
    number = _with_check_character("42010220000229012")
    assert IdNumber.parse(number).birth_date == dt.date(2000, 2, 29)


def test_the_field_name_given_by_the_caller_is_named_in_the_refusal() -> None:
    with pytest.raises(InvalidInput) as caught:
        IdNumber.parse("420102199003071233", field="persons[0].id")
    assert caught.value.field == "persons[0].id"


def test_birth_date_and_region_are_read_from_the_number() -> None:
    parsed = IdNumber.parse("420106198511200046")
    assert parsed.birth_date == dt.date(1985, 11, 20)
    assert parsed.region == "420106"


def test_an_odd_seventeenth_digit_is_male_and_an_even_one_female() -> None:
    assert IdNumber.parse("420102199003071232").sex == "M"  # 17th digit 3
    assert IdNumber.parse("420106198511200046").sex == "F"  # 17th digit 4


def test_masking_shows_only_the_first_four_and_last_four_characters() -> None:
    assert IdNumber.parse("420102199003071232").masked == "4201**********1232"
    assert str(IdNumber.parse("420102199003071232")) == "420102199003071232"


def test_masking_a_short_text_hides_all_of_it() -> None:
    assert mask("12345678") == "********"


def test_a_refusal_never_shows_the_full_number() -> None:
    with pytest.raises(InvalidInput) as caught:
        IdNumber.parse("420102199003071233")
    assert "420102199003071233" not in str(caught.value)
    assert "4201**********1233" in str(caught.value)


def test_full_width_digits_are_not_an_id_number() -> None:
    with pytest.raises(InvalidInput):
        IdNumber.parse("４２０１０２１９９００３０７１２３" + "2")
