"""Whom to check on site first: plain rules over what is known of a retiree, no I/O.

A check on site is the surest proof of life the agency has and the dearest, so the plan
spends it where the other means say least: nobody has seen a sign of life from another
agency's data for a year; the retiree has certified only remotely for years; only helpers
hold accounts for them; an account that certifies them certifies several elders; great age;
and a self-service pass the audit scored as risky. The score is the sum of the reasons'
points; each reason is a code the catalogs turn into words (`checkplan.reason.<code>`).

The policy is plain data, `data/check_plan.toml`, read by `load_plan_policy`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from verification.certification.pass_risk import RiskReason, RiskScore, age_on

DEFAULT_PLAN_FILE = Path(__file__).resolve().parents[1] / "data" / "check_plan.toml"
# Certification methods with no member of staff and nobody seeing the retiree in person.
REMOTE_METHODS = frozenset({"self_video", "self_photo", "data"})
REASON_CODES = ("no_life_signal", "remote_only", "helper_only", "shared_account", "age", "pass_score")


class PlanPolicyError(ValueError):
    """The policy data is malformed: says which key and why."""


@dataclass(frozen=True)
class PlanPolicy:
    target: float = 0.60
    no_signal_points: int = 3
    no_signal_months: int = 12
    remote_steps: tuple[tuple[int, int], ...] = ((2, 1), (3, 2), (5, 3))
    helper_only_points: int = 2
    shared_points: int = 3
    shared_at_least: int = 3
    shared_window_days: int = 365
    age_steps: tuple[tuple[int, int], ...] = ((80, 1), (85, 2), (90, 3), (95, 4))
    pass_score_per: int = 2
    pass_score_most: int = 4

    @property
    def shared_window(self) -> timedelta:
        return timedelta(days=self.shared_window_days)


@dataclass(frozen=True)
class RiskFacts:
    """What is known of one retiree on the planning day."""

    birth_date: date
    last_signal_on: date | None = None  # the latest life signal from another agency's data
    certifications: Sequence[tuple[date, str]] = ()  # (day, method) of earlier certifications
    in_person_years: frozenset[int] = frozenset()  # years with an in-person life signal
    binding_kinds: Sequence[str] = ()  # "self" | "helper", of the active bindings
    elders_of_account: int = 0  # the most retirees one account certifying this one certified
    pass_score: int | None = None  # the latest self-service pass's risk score


def score(facts: RiskFacts, today: date, policy: PlanPolicy) -> RiskScore:
    """The points of a retiree and the reasons behind them, in a fixed order."""
    reasons: list[RiskReason] = []

    def add(code: str, points: int, value: float | int | None = None) -> None:
        if points > 0:
            reasons.append(RiskReason(code, points, value))

    since = _months_before(today, policy.no_signal_months)
    if facts.last_signal_on is None or facts.last_signal_on < since:
        add("no_life_signal", policy.no_signal_points, policy.no_signal_months)
    years = remote_years(facts.certifications, facts.in_person_years, today.year)
    add("remote_only", _step(years, policy.remote_steps), years)
    if facts.binding_kinds and all(kind == "helper" for kind in facts.binding_kinds):
        add("helper_only", policy.helper_only_points)
    if facts.elders_of_account >= policy.shared_at_least:
        add("shared_account", policy.shared_points, facts.elders_of_account)
    age = age_on(facts.birth_date, today)
    add("age", _step(age, policy.age_steps), age)
    if facts.pass_score is not None and facts.pass_score > 0:
        points = min(policy.pass_score_most, facts.pass_score // policy.pass_score_per)
        add("pass_score", points, facts.pass_score)
    return RiskScore(sum(r.points for r in reasons), tuple(reasons))


def remote_years(
    certifications: Sequence[tuple[date, str]], in_person_years: frozenset[int], this_year: int
) -> int:
    """Years in a row, counting back from this year (or from last year, when this year has no
    certification yet), in which the retiree certified and every certification was remote and
    no in-person sign of life was recorded. A year without any certification, or with one by
    staff or in person, ends the run."""
    methods: dict[int, set[str]] = {}
    for day, method in certifications:
        methods.setdefault(day.year, set()).add(method)
    year = this_year if methods.get(this_year) else this_year - 1
    years = 0
    while methods.get(year) and methods[year] <= REMOTE_METHODS and year not in in_person_years:
        years += 1
        year -= 1
    return years


def _months_before(day: date, months: int) -> date:
    month = day.month - 1 - months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (day.day, 30, 29, 28):  # the same day of the month, or the month's last
        try:
            return date(year, month, last)
        except ValueError:
            continue
    raise AssertionError("every month has a 28th")


def _step(value: int, steps: Sequence[tuple[int, int]]) -> int:
    return max((points for at_least, points in steps if value >= at_least), default=0)


# --- the data file


@cache
def _policy_file(path: Path) -> PlanPolicy:
    with path.open("rb") as handle:
        return parse_plan_policy(tomllib.load(handle))


def load_plan_policy(path: Path | str = DEFAULT_PLAN_FILE) -> PlanPolicy:
    """The policy of the data file, read once per process."""
    return _policy_file(Path(path))


def parse_plan_policy(data: Mapping[str, Any]) -> PlanPolicy:
    """The policy from the data file's mapping; PlanPolicyError names a bad key."""
    unknown_top = set(data) - {"target", "reasons"}
    if unknown_top:
        raise PlanPolicyError(f"unknown {sorted(unknown_top)}")
    reasons = data.get("reasons", {})
    if not isinstance(reasons, Mapping):
        raise PlanPolicyError("reasons: must be a table")
    unknown = set(reasons) - set(REASON_CODES)
    if unknown:
        raise PlanPolicyError(f"reasons: unknown {sorted(unknown)}")
    values: dict[str, Any] = {}
    if "target" in data:
        target = data["target"]
        if isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target <= 1:
            raise PlanPolicyError(f"target: a share above 0 and at most 1, not {target!r}")
        values["target"] = float(target)
    fields: dict[str, dict[str, tuple[str, Callable[[Any, str], Any]]]] = {
        "no_life_signal": {
            "points": ("no_signal_points", _points),
            "months": ("no_signal_months", _count),
        },
        "remote_only": {"steps": ("remote_steps", _steps)},
        "helper_only": {"points": ("helper_only_points", _points)},
        "shared_account": {
            "points": ("shared_points", _points),
            "at_least": ("shared_at_least", _count),
            "window_days": ("shared_window_days", _count),
        },
        "age": {"steps": ("age_steps", _steps)},
        "pass_score": {"per": ("pass_score_per", _count), "most": ("pass_score_most", _points)},
    }
    for reason, keys in fields.items():
        given = reasons.get(reason, {})
        if not isinstance(given, Mapping):
            raise PlanPolicyError(f"reasons.{reason}: must be a table")
        unknown = set(given) - set(keys)
        if unknown:
            raise PlanPolicyError(f"reasons.{reason}: unknown {sorted(unknown)}")
        for key, (attribute, check) in keys.items():
            if key in given:
                values[attribute] = check(given[key], f"reasons.{reason}.{key}")
    return replace(PlanPolicy(), **values)


def _int(value: Any, low: int, high: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PlanPolicyError(f"{where}: a whole number from {low} to {high}, not {value!r}")
    return value


def _points(value: Any, where: str) -> int:
    return _int(value, 0, 100, where)


def _count(value: Any, where: str) -> int:
    return _int(value, 1, 100_000, where)


def _steps(value: Any, where: str) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, list) or not all(isinstance(s, list) and len(s) == 2 for s in value):
        raise PlanPolicyError(f"{where}: a list of [at least, points] pairs")
    return tuple((_int(a, 0, 1000, where), _points(p, where)) for a, p in value)
