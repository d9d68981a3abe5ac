"""One-time secret codes typed by people: binding codes (notice letter) and staff codes.

The alphabet leaves out the characters that are easily confused when read aloud or from a
letter by an elderly person (0/O, 1/I/L), so every code can be typed back without doubt.
Codes are shown in groups of four ("ABCD EFGH"); what is typed is normalised before it is
checked: full-width characters (a Chinese input method) become ASCII, letters upper case,
spaces and dashes are dropped. Only a keyed hash of a code is ever looked up.
"""

from __future__ import annotations

import secrets
import unicodedata

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0, O, 1, I, L
BINDING_CODE_LENGTH = 8
STAFF_CODE_LENGTH = 12


# Random bytes map onto the alphabet by a translation table; bytes at or above the largest
# multiple of the alphabet's size are dropped, so every character is equally likely.
_USABLE = len(CODE_ALPHABET) * (256 // len(CODE_ALPHABET))
_TABLE = bytes(ord(CODE_ALPHABET[value % len(CODE_ALPHABET)]) for value in range(_USABLE)) + bytes(
    256 - _USABLE
)
_DROP = bytes(range(_USABLE, 256))


def new_codes(count: int, length: int) -> list[str]:
    """`count` random codes (from `secrets`); thousands at a time cost milliseconds."""
    needed = count * length
    characters = b""
    while len(characters) < needed:
        raw = secrets.token_bytes(needed - len(characters) + 16)
        characters += raw.translate(_TABLE, _DROP)
    text = characters[:needed].decode("ascii")
    return [text[start : start + length] for start in range(0, needed, length)]


def new_code(length: int) -> str:
    return new_codes(1, length)[0]


def normalise_code(raw: str) -> str:
    """What the person meant to type: '  abcd-efgh ' -> 'ABCDEFGH'."""
    text = unicodedata.normalize("NFKC", raw).upper()
    return "".join(character for character in text if not character.isspace() and character not in "-_")


def is_well_formed(code: str, length: int) -> bool:
    """A normalised code of the right length, from the alphabet only."""
    return len(code) == length and all(character in CODE_ALPHABET for character in code)


def grouped(code: str) -> str:
    """'ABCDEFGH' -> 'ABCD EFGH': easier to read off a letter, and never a number in Excel."""
    return " ".join(code[start : start + 4] for start in range(0, len(code), 4))
