"""The certification cycle's numbers per region, read from `data/cycle_policies.toml`.

A policy is plain data: the rule that gives the due date, the grace before payment is
suspended, the reminder thresholds, the quiet hours and the birthday-month minimum. The
file has a `[default]` and, under `[regions]`, what a region (6-digit code of the region
that pays the pension) changes; the rest is inherited from the default.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

DEFAULT_POLICY_FILE = Path(__file__).resolve().parents[1] / "data" / "cycle_policies.toml"

Rule = Literal["rolling_12", "birthday_month"]
RULES: tuple[str, ...] = ("rolling_12", "birthday_month")
_REGION_CODE = re.compile(r"^\d{6}$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class PolicyError(ValueError):
    """The policy file is malformed: says which key and why."""


@dataclass(frozen=True)
class CyclePolicy:
    rule: Rule = "rolling_12"
    grace_days: int = 30
    # Most days first: (30, 14, 7, 1).
    reminder_days: tuple[int, ...] = (30, 14, 7, 1)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    min_months: int = 6
    first_deadline_days: int = 30

    @property
    def first_reminder_days(self) -> int:
        """The earliest reminder (30): from then on the certification is "due soon"."""
        return max(self.reminder_days, default=0)


@dataclass(frozen=True)
class CyclePolicies:
    default: CyclePolicy = field(default_factory=CyclePolicy)
    regions: Mapping[str, CyclePolicy] = field(default_factory=lambda: MappingProxyType({}))

    def for_region(self, region_code: str | None) -> CyclePolicy:
        return self.regions.get(region_code or "", self.default)

    def all(self) -> tuple[CyclePolicy, ...]:
        return (self.default, *self.regions.values())

    @property
    def widest_reminder_window(self) -> int:
        """The most days before a due date that any region reminds."""
        return max(policy.first_reminder_days for policy in self.all())

    @property
    def shortest_grace(self) -> int:
        return min(policy.grace_days for policy in self.all())


def load_cycle_policies(path: Path | str = DEFAULT_POLICY_FILE) -> CyclePolicies:
    with Path(path).open("rb") as handle:
        data = tomllib.load(handle)
    return parse_cycle_policies(data)


def parse_cycle_policies(data: Mapping[str, Any]) -> CyclePolicies:
    unknown = set(data) - {"default", "regions"}
    if unknown:
        raise PolicyError(f"unknown top-level keys: {sorted(unknown)}")
    default = _policy(CyclePolicy(), data.get("default", {}), "default")
    regions: dict[str, CyclePolicy] = {}
    for code, values in data.get("regions", {}).items():
        if not _REGION_CODE.match(code):
            raise PolicyError(f"regions.{code}: a region code has 6 digits")
        regions[code] = _policy(default, values, f"regions.{code}")
    return CyclePolicies(default, MappingProxyType(regions))


def _policy(base: CyclePolicy, values: Any, where: str) -> CyclePolicy:
    if not isinstance(values, Mapping):
        raise PolicyError(f"{where}: expected a table")
    known = {"rule", "grace_days", "reminder_days", "quiet_start", "quiet_end", "min_months"}
    known |= {"first_deadline_days"}
    unknown = set(values) - known
    if unknown:
        raise PolicyError(f"{where}: unknown keys {sorted(unknown)}")
    changes: dict[str, Any] = {}
    if "rule" in values:
        if values["rule"] not in RULES:
            raise PolicyError(f"{where}.rule: one of {RULES}, not {values['rule']!r}")
        changes["rule"] = values["rule"]
    for key, low, high in (("grace_days", 0, 366), ("min_months", 1, 12), ("first_deadline_days", 0, 366)):
        if key in values:
            changes[key] = _int(values[key], low, high, f"{where}.{key}")
    if "reminder_days" in values:
        days = values["reminder_days"]
        if not isinstance(days, list) or not days:
            raise PolicyError(f"{where}.reminder_days: a non-empty list of days")
        checked = [_int(day, 1, 366, f"{where}.reminder_days") for day in days]
        if len(set(checked)) != len(checked):
            raise PolicyError(f"{where}.reminder_days: a day is listed twice")
        changes["reminder_days"] = tuple(sorted(checked, reverse=True))
    for key in ("quiet_start", "quiet_end"):
        if key in values:
            changes[key] = _clock(values[key], f"{where}.{key}")
    return replace(base, **changes)


def _int(value: Any, low: int, high: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PolicyError(f"{where}: a whole number from {low} to {high}, not {value!r}")
    return value


def _clock(value: Any, where: str) -> time:
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if not match:
        raise PolicyError(f"{where}: a time as HH:MM, not {value!r}")
    return time(int(match.group(1)), int(match.group(2)))
