"""Coverage of the year's checks: per quarter, how many of a region's retirees the verification
records show checked from 1 January up to the quarter's end, against the target share; pure
counting over rows the service reads (no I/O).

The figures are cumulative, as the notice's target is a share of the year: the second quarter's
figure counts everyone checked in the first half of the year. A retiree counts once in the
total however often and by however many means they were checked, and once under each means.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from storage.repositories.checkplan import RecordFacts
from verification.checkplan.means import Means, means_of
from verification.checkplan.quarters import Quarter, instant


@dataclass(frozen=True)
class QuarterCoverage:
    quarter: str  # "2026Q2"
    roster: int  # retirees living in the region
    checked: int  # of them, checked from 1 January to the quarter's end
    checked_in_quarter: int  # of them, checked within the quarter itself
    target: float  # the share to reach in the year
    by_means: dict[str, int] = field(default_factory=dict)  # every Means, checked by it

    @property
    def share(self) -> float:
        return self.checked / self.roster if self.roster else 0.0

    @property
    def target_count(self) -> int:
        return math.ceil(round(self.target * self.roster, 9))

    @property
    def shortfall(self) -> int:
        return max(0, self.target_count - self.checked)

    def as_json(self) -> dict[str, Any]:
        return {
            "quarter": self.quarter,
            "roster": self.roster,
            "checked": self.checked,
            "checked_in_quarter": self.checked_in_quarter,
            "share": round(self.share, 4),
            "target": self.target,
            "target_count": self.target_count,
            "shortfall": self.shortfall,
            "by_means": dict(self.by_means),
        }


@dataclass(frozen=True)
class RegionCoverage:
    region: str
    year: int
    quarters: list[QuarterCoverage]

    def as_json(self) -> dict[str, Any]:
        return {"region": self.region, "year": self.year, "quarters": [q.as_json() for q in self.quarters]}


def tally(
    roster_hashes: Collection[str],
    records: Iterable[RecordFacts],
    quarters: Iterable[Quarter],
    zone: ZoneInfo,
    target: float,
) -> list[QuarterCoverage]:
    """Coverage per quarter of `roster_hashes` (the region's retirees, by keyed hash) from the
    records; records of anyone else, or showing no check, are not counted."""
    roster = set(roster_hashes)
    # (when, retiree, means) of every record that shows a check of one of the roster.
    checks = []
    for record in records:
        if record.retiree_hash not in roster:
            continue
        means = means_of(record.event, record.method, record.detail)
        if means is not None:
            checks.append((record.occurred_at, record.retiree_hash, means))
    figures = []
    for quarter in sorted(quarters):
        year_start = instant(quarter.first_day.replace(month=1), zone)
        start, end = instant(quarter.first_day, zone), instant(quarter.end, zone)
        by_means: dict[Means, set[str]] = {means: set() for means in Means}
        in_year: set[str] = set()
        in_quarter: set[str] = set()
        for at, retiree_hash, means in checks:
            if year_start <= at < end:
                in_year.add(retiree_hash)
                by_means[means].add(retiree_hash)
                if at >= start:
                    in_quarter.add(retiree_hash)
        figures.append(
            QuarterCoverage(
                str(quarter),
                len(roster),
                len(in_year),
                len(in_quarter),
                target,
                {means.value: len(hashes) for means, hashes in by_means.items()},
            )
        )
    return figures


def checked_hashes(records: Iterable[RecordFacts], start: str, end: str) -> set[str]:
    """The retirees (by keyed hash) the records show checked from `start` to `end` (exclusive)."""
    return {
        r.retiree_hash
        for r in records
        if start <= r.occurred_at < end and means_of(r.event, r.method, r.detail) is not None
    }
