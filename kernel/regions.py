"""Administrative division codes (6 digits: province, prefecture, county)."""

from __future__ import annotations


def region_prefix(code: str) -> str:
    """The prefix of the region codes `code` covers: a county code itself, a prefecture or
    province code (ending in 00 or 0000) every region below it: "110105" -> "110105",
    "110100" -> "1101", "110000" -> "11"; "" -> "" (every region). ValueError for anything
    but six digits."""
    if not code:
        return ""
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        raise ValueError(f"a region code is six digits, like 110105, not {code!r}")
    prefix = code.rstrip("0")
    if len(prefix) % 2:  # keep whole two-digit levels: "110100" -> "1101", not "1101" + "0"
        prefix += "0"
    return prefix


def covers(staff_region: str, region: str) -> bool:
    """A staff region code covers itself and, for a prefecture or province code, every region
    below it."""
    return region.startswith(region_prefix(staff_region))
