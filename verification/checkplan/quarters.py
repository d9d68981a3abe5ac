"""Quarters ("2026Q4") and the moments that bound them, in the agency's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

_QUARTER = re.compile(r"([0-9]{4})[Qq]([1-4])")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int  # 1 to 4

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4 or not 1900 <= self.year <= 9999:
            raise ValueError(f"not a quarter: {self.year}Q{self.number}")

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """ "2026Q4" (or "2026q4"); ValueError for anything else."""
        match = _QUARTER.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"a quarter is written like 2026Q4, not {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        """The first day after the quarter (its end, exclusive)."""
        return date(self.year + 1, 1, 1) if self.number == 4 else date(self.year, 3 * self.number + 1, 1)

    @property
    def quarters_left(self) -> int:
        """This quarter and those after it in the year."""
        return 5 - self.number


def quarters_of(year: int) -> list[Quarter]:
    return [Quarter(year, number) for number in range(1, 5)]


def instant(day: date, zone: ZoneInfo) -> str:
    """Midnight at the start of `day` in `zone`, as the verification records write a moment
    (ISO 8601 in UTC, whole seconds), so that record times compare with it as text."""
    return datetime.combine(day, time(), zone).astimezone(UTC).isoformat(timespec="seconds")
