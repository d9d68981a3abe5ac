"""The figures of a region's quarterly report on its checking work: plain values, each saying
in plain words what it was counted from, so that a supervisor can trace every number."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from content.i18n import Translator

# The age buckets of open cases, in days since they were opened (the last has no upper end).
AGE_BUCKETS: tuple[tuple[str, int | None], ...] = (("0-7", 7), ("8-30", 30), ("31-90", 90), ("90+", None))


@dataclass(frozen=True)
class Figure:
    """One number of the report and what it was counted from, in words from the catalogs:
    `report.source.<source_key>` filled with `source_params` (dates, states, the region's
    prefix as `prefix`: "" for the whole database)."""

    key: str  # e.g. "certified.self_service"; its label is report.figure.<key> in the catalogs
    value: int | Decimal
    source_key: str = ""  # the catalog key is report.source.<source_key>; the figure's key if ""
    source_params: dict[str, object] = field(default_factory=dict, hash=False)

    def source_text(self, t: Translator) -> str:
        """Which people, tables or records, and which filter, it was counted from, in `t`'s
        language; `{where}` in a text names the region ("1101开头的地区", or every region)."""
        params = dict(self.source_params)
        prefix = str(params.get("prefix", ""))
        where = t("report.source.where.prefix", prefix=prefix) if prefix else t("report.source.where.all")
        return t(f"report.source.{self.source_key or self.key}", where=where, **params)

    @property
    def source(self) -> str:
        """The source in English (the workbook and the PDF use `source_text` in their language)."""
        return self.source_text(Translator("en"))


@dataclass(frozen=True)
class QuarterFigures:
    region: str  # the region code asked for ("" for the whole database)
    quarter: str  # "2026Q4"
    target: float  # the share of the region's retirees to check in the year
    figures: dict[str, Figure] = field(default_factory=dict)  # in the report's order
    # ("2026-10", share of the retirees checked from 1 January to that month's end), each month
    # of the year up to the quarter's end.
    monthly_coverage: list[tuple[str, float]] = field(default_factory=list)
    backlog_ages: dict[str, int] = field(default_factory=dict)  # open reviews + audits per age bucket

    def value(self, key: str) -> int | Decimal:
        return self.figures[key].value

    @property
    def share(self) -> float:
        """Coverage: the retirees checked since 1 January over the retirees of the region."""
        retirees = int(self.value("retirees"))
        return int(self.value("checked_year")) / retirees if retirees else 0.0


def target_count(target: float, retirees: int) -> int:
    """The retirees to check in the year to reach the target (rounded up, as the check plan)."""
    return math.ceil(round(target * retirees, 9))
