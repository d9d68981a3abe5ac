"""GB 11643-1999 resident ID numbers: the check character, the birth date, the region."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from kernel.idnumber import (
    IdReason,
    InvalidIdNumber,
    Sex,
    ValidIdNumber,
    check_character,
    check_id_number,
    is_valid_region_code,
    mask_id_number,
)
from tests.roster.rosters import STANDARD_ID
from verification.roster.synthetic import SYNTHETIC_REGIONS, synthetic_id_number

TODAY = date(2025, 6, 1)


def test_the_standard_example_is_valid():
    result = check_id_number(STANDARD_ID, today=TODAY)
    assert result == ValidIdNumber(number=STANDARD_ID, birth_date=date(1949, 12, 31), sex=Sex.FEMALE)


def test_lower_case_x_and_spaces_are_normalised():
    result = check_id_number(" 11010519491231002x ", today=TODAY)
    assert isinstance(result, ValidIdNumber)
    assert result.number == STANDARD_ID


def test_generated_numbers_are_valid_and_carry_birth_date_and_sex():
    rng = random.Random(7)
    for _ in range(2000):
        region = rng.choice(SYNTHETIC_REGIONS)
        born = date(1900, 1, 1) + timedelta(days=rng.randint(0, (TODAY - date(1900, 1, 1)).days))
        sequence = rng.randint(0, 999)
        result = check_id_number(synthetic_id_number(region, born, sequence), today=TODAY)
        assert isinstance(result, ValidIdNumber), result
        assert result.birth_date == born
        assert result.sex == (Sex.MALE if sequence % 2 else Sex.FEMALE)


def test_check_character_can_be_x_or_0():
    # Find numbers whose check character is X and 0: both branches of the table are used.
    seen = {synthetic_id_number("110105", date(1950, 1, 1), sequence)[-1] for sequence in range(200)}
    assert {"X", "0"} <= seen


def test_every_wrong_check_character_is_refused():
    for wrong in "0123456789X":
        if wrong == STANDARD_ID[-1]:
            continue
        assert check_id_number(STANDARD_ID[:17] + wrong, today=TODAY) == InvalidIdNumber(
            IdReason.BAD_CHECK_DIGIT
        )


def test_a_swapped_pair_of_digits_is_caught():
    swapped = STANDARD_ID[:6] + STANDARD_ID[7] + STANDARD_ID[6] + STANDARD_ID[8:]
    assert check_id_number(swapped, today=TODAY).reason in {IdReason.BAD_CHECK_DIGIT, IdReason.BAD_BIRTH_DATE}


@pytest.mark.parametrize("number", ["", "1101051949123100", "11010519491231002", "11010519491231002X1"])
def test_wrong_length(number):
    assert check_id_number(number, today=TODAY) == InvalidIdNumber(IdReason.WRONG_LENGTH)


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002A",  # check character not a digit or X
        "1101051949123100X2",  # X anywhere but last
        "11010519491231-02X",
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits are not ASCII digits
    ],
)
def test_bad_characters(number):
    assert check_id_number(number, today=TODAY) == InvalidIdNumber(IdReason.BAD_CHARACTERS)


def _with_check(first17: str) -> str:
    return first17 + check_character(first17)


@pytest.mark.parametrize(
    "first17",
    [
        "11010519491331002",  # month 13
        "11010519490230002",  # 30 February
        "11010518991231002",  # before 1900
        "11010520250602002",  # after TODAY
    ],
)
def test_bad_birth_date(first17):
    assert check_id_number(_with_check(first17), today=TODAY) == InvalidIdNumber(IdReason.BAD_BIRTH_DATE)


@pytest.mark.parametrize("prefix", "00 10 16 20 24 30 38 47 55 60 66 72 83 99".split())
def test_bad_region(prefix):
    number = _with_check(prefix + STANDARD_ID[2:17])
    assert check_id_number(number, today=TODAY) == InvalidIdNumber(IdReason.BAD_REGION)


@pytest.mark.parametrize("prefix", "11 15 21 23 31 37 41 46 50 54 61 65 71 81 82".split())
def test_every_province_range_is_accepted(prefix):
    assert isinstance(check_id_number(_with_check(prefix + STANDARD_ID[2:17]), today=TODAY), ValidIdNumber)


def test_region_codes():
    assert is_valid_region_code("110105")
    assert is_valid_region_code("820000")
    assert not is_valid_region_code("990000")
    assert not is_valid_region_code("11010")
    assert not is_valid_region_code("1101050")
    assert not is_valid_region_code("11010X")
    assert not is_valid_region_code("１１０１０５")


def test_masking_and_repr_never_show_the_whole_number():
    assert mask_id_number(STANDARD_ID) == "1101**********002X"
    result = check_id_number(STANDARD_ID, today=TODAY)
    assert STANDARD_ID not in repr(result)
    assert "1101**********002X" in repr(result)
