"""The national rules the calculators apply (content/data/rules.toml), and the calculators:
monthly contributions for a wage in a region, the late fee on an amount, the last day to
register. Plain Python on Decimal; amounts are rounded to the fen, line by line."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

from content.calculators.money import to_fen
from content.calculators.regions import Region

RULES_FILE = Path(__file__).resolve().parents[1] / "data" / "rules.toml"


@dataclass(frozen=True)
class Rules:
    late_fee_daily_rate: Decimal
    late_fee_citation: str
    registration_days: dict[str, int]  # employee, employer, change, unemployed_list
    registration_citations: dict[str, str]
    base_citation: str


@cache
def load_rules(path: Path = RULES_FILE) -> Rules:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    kinds = {
        "employee": "employee_registration",
        "employer": "employer_registration",
        "change": "change_registration",
        "unemployed_list": "unemployed_list",
    }
    return Rules(
        late_fee_daily_rate=Decimal(data["late_fee"]["daily_rate"]),
        late_fee_citation=data["late_fee"]["citation"],
        registration_days={kind: int(data[key]["days"]) for kind, key in kinds.items()},
        registration_citations={kind: data[key]["citation"] for kind, key in kinds.items()},
        base_citation=data["base"]["citation"],
    )


# ------------------------------------------------------------------ contributions


@dataclass(frozen=True)
class ContributionLine:
    insurance: str  # pension / medical / unemployment / work_injury
    employer_rate: Decimal
    employee_rate: Decimal
    employer: Decimal
    employee: Decimal


@dataclass(frozen=True)
class ContributionTable:
    region: Region
    wage: Decimal
    base: Decimal
    adjusted: str | None  # "floor", "ceiling" or None when the wage is the base
    injury_class: str
    lines: tuple[ContributionLine, ...]

    @property
    def employer_total(self) -> Decimal:
        return sum((line.employer for line in self.lines), Decimal(0))

    @property
    def employee_total(self) -> Decimal:
        return sum((line.employee for line in self.lines), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.employer_total + self.employee_total


def monthly_contributions(
    wage: Decimal, region: Region, injury_class: str | None = None
) -> ContributionTable:
    """Each insurance's employer and employee share for one month's wage in a region.

    The base is the wage kept between the region's floor and ceiling; maternity is part of
    medical; work injury is the employer's alone, at the rate of its industry class."""
    base = region.clamp(wage)
    adjusted = "floor" if wage < region.floor else "ceiling" if wage > region.ceiling else None
    injury_class = injury_class or region.default_injury_class
    lines = [
        ContributionLine(
            name,
            shares.employer,
            shares.employee,
            to_fen(base * shares.employer),
            to_fen(base * shares.employee),
        )
        for name, shares in region.rates.items()
    ]
    injury_rate = region.injury_rate(injury_class)
    lines.append(
        ContributionLine("work_injury", injury_rate, Decimal(0), to_fen(base * injury_rate), Decimal("0.00"))
    )
    return ContributionTable(region, wage, base, adjusted, injury_class, tuple(lines))


# ------------------------------------------------------------------ late fee


@dataclass(frozen=True)
class LateFee:
    amount: Decimal
    due: date
    on: date
    days: int
    daily_rate: Decimal
    fee: Decimal

    @property
    def total(self) -> Decimal:
        return self.amount + self.fee


def late_fee(amount: Decimal, due: date, on: date, rules: Rules | None = None) -> LateFee:
    """The late fee on `amount` due on `due`, reckoned to `on`: every day after the due
    date counts (paying on the due date costs nothing; one day later, one day's fee)."""
    rules = rules or load_rules()
    days = max(0, (on - due).days)
    return LateFee(
        amount, due, on, days, rules.late_fee_daily_rate, to_fen(amount * rules.late_fee_daily_rate * days)
    )


# ------------------------------------------------------------------ deadlines


@dataclass(frozen=True)
class Deadline:
    kind: str
    start: date
    last_day: date
    days: int
    citation: str

    def days_left(self, today: date) -> int:
        return (self.last_day - today).days


def registration_deadline(start: date, kind: str = "employee", rules: Rules | None = None) -> Deadline:
    """The last day to register: the start day (first day of work, founding, change) is day 0
    and the last day is `days` calendar days later (30 for Arts. 57 and 58)."""
    rules = rules or load_rules()
    days = rules.registration_days[kind]
    return Deadline(kind, start, start + timedelta(days=days), days, rules.registration_citations[kind])


def month_due_date(year: int, month: int, region: Region) -> date:
    """When a month's contributions fall due in a region (its due day of that month)."""
    return date(year, month, region.due_day)
