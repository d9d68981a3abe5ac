"""Resident ID numbers (居民身份证号码) per GB 11643-1999, and administrative region codes.

An ID number is 6 digits of region, 8 digits of birth date, 3 digits of sequence (odd for
men, even for women) and a check character computed with ISO 7064 MOD 11-2. Checking all
of it catches almost every typing error before a wrong person is linked to a pension.

Nothing here ever prints or logs a number: callers that must show one use `mask_id_number`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from operator import mul

# Province-level codes (GB/T 2260 first two digits), including Taiwan, Hong Kong and Macao,
# whose residents can hold mainland resident ID numbers.
PROVINCE_CODES: frozenset[str] = frozenset(
    f"{code:02d}"
    for code in [
        *range(11, 16),
        *range(21, 24),
        *range(31, 38),
        *range(41, 47),
        *range(50, 55),
        *range(61, 66),
        71,
        81,
        82,
    ]
)

_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"  # indexed by the weighted sum modulo 11
_EARLIEST_BIRTH = date(1900, 1, 1)


class IdReason(StrEnum):
    """Why an ID number was refused; the values are stable codes stored in error records."""

    WRONG_LENGTH = "wrong_length"
    BAD_CHARACTERS = "bad_characters"
    BAD_CHECK_DIGIT = "bad_check_digit"
    BAD_BIRTH_DATE = "bad_birth_date"
    BAD_REGION = "bad_region"


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True, slots=True)
class ValidIdNumber:
    number: str  # 18 characters, the check character upper-case
    birth_date: date
    sex: Sex

    def __repr__(self) -> str:  # a stray repr in a log or traceback must not leak the number
        return f"ValidIdNumber({mask_id_number(self.number)}, born {self.birth_date.year})"


@dataclass(frozen=True, slots=True)
class InvalidIdNumber:
    reason: IdReason


def check_character(first17: str) -> str:
    """The 18th character for 17 digits (ISO 7064 MOD 11-2)."""
    total = sum(map(mul, map(int, first17), _WEIGHTS))
    return _CHECK_CHARACTERS[total % 11]


def check_id_number(raw: str, *, today: date) -> ValidIdNumber | InvalidIdNumber:
    """Validate and normalise an ID number (surrounding spaces ignored, 'x' becomes 'X')."""
    number = raw.strip().upper()
    if len(number) != 18:
        return InvalidIdNumber(IdReason.WRONG_LENGTH)
    # str.isdigit() alone would accept full-width and other Unicode digits: ASCII only.
    if not (number.isascii() and number[:17].isdigit() and (number[17].isdigit() or number[17] == "X")):
        return InvalidIdNumber(IdReason.BAD_CHARACTERS)
    if number[:2] not in PROVINCE_CODES:
        return InvalidIdNumber(IdReason.BAD_REGION)
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return InvalidIdNumber(IdReason.BAD_BIRTH_DATE)
    if birth < _EARLIEST_BIRTH or birth > today:
        return InvalidIdNumber(IdReason.BAD_BIRTH_DATE)
    if check_character(number[:17]) != number[17]:
        return InvalidIdNumber(IdReason.BAD_CHECK_DIGIT)
    sex = Sex.MALE if int(number[16]) % 2 else Sex.FEMALE
    return ValidIdNumber(number=number, birth_date=birth, sex=sex)


def is_valid_region_code(code: str) -> bool:
    """A 6-digit administrative division code with a real province-level prefix."""
    return len(code) == 6 and code.isascii() and code.isdigit() and code[:2] in PROVINCE_CODES


def mask_id_number(number: str) -> str:
    """'11010519491231002X' -> '1101**********002X': enough for staff to tell rows apart."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]
