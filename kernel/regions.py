"""Administrative division codes (6 digits: province, prefecture, county)."""

from __future__ import annotations


def covers(staff_region: str, region: str) -> bool:
    """A staff region code covers itself and, for a prefecture or province code (ending in
    00 or 0000), every region below it."""
    prefix = staff_region.rstrip("0")
    if len(prefix) % 2:  # keep whole two-digit levels: "110100" -> "1101", "110000" -> "11"
        prefix += "0"
    return region.startswith(prefix)
