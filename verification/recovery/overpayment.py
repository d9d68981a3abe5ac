"""The overpayment rule: which monthly payments were made after entitlement ended.

Plain values in, plain values out; amounts are whole fen (int), never floats.

The rule (the product's choice, documented in `data/recovery.toml`):

- A pension is paid once a month, for that month, on the region's pay day (a day past the
  month's end means the month's last day).
- Entitlement runs to the end of the month in which it ended (the month of death is still
  owed). This is the practice commonly applied by agencies, not a rule quoted from a law
  text in `laws/` (UNVERIFIED); 经办条例 Art. 25 only says that the agency stops the benefit
  once the end of entitlement is reported and checked.
- Every later month whose pay day came before the day payment was stopped was overpaid
  (a stop recorded on the pay day itself caught that month's payment).
- The amount is the number of such months times the monthly pension (经办条例 Art. 46:
  what was drawn beyond entitlement is paid back, at once or in instalments).
"""

from __future__ import annotations

import calendar
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

DEFAULT_RECOVERY_FILE = Path(__file__).resolve().parents[1] / "data" / "recovery.toml"
DEFAULT_PAY_DAY = 10


@dataclass(frozen=True)
class Overpayment:
    months: tuple[str, ...]  # "YYYY-MM", oldest first
    monthly_fen: int
    total_fen: int

    @property
    def count(self) -> int:
        return len(self.months)


@dataclass(frozen=True)
class PayDays:
    default: int = DEFAULT_PAY_DAY
    regions: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def for_region(self, region_code: str | None) -> int:
        return self.regions.get(region_code or "", self.default)


def _month_after(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def pay_date(year: int, month: int, pay_day: int) -> date:
    """The day the month's pension is paid: the pay day, or the month's last day if shorter."""
    return date(year, month, min(pay_day, calendar.monthrange(year, month)[1]))


def overpaid_months(entitlement_ended_on: date, payment_stopped_on: date, pay_day: int) -> tuple[str, ...]:
    """The months paid after entitlement ended ("YYYY-MM", oldest first)."""
    if not 1 <= pay_day <= 31:
        raise ValueError("pay day must be between 1 and 31")
    months: list[str] = []
    year, month = _month_after(entitlement_ended_on.year, entitlement_ended_on.month)
    while pay_date(year, month, pay_day) < payment_stopped_on:
        months.append(f"{year:04d}-{month:02d}")
        year, month = _month_after(year, month)
    return tuple(months)


def compute_overpayment(
    entitlement_ended_on: date, payment_stopped_on: date, monthly_fen: int | None, pay_day: int
) -> Overpayment | None:
    """None when there is no monthly amount, or nothing was paid after entitlement ended."""
    if monthly_fen is None or monthly_fen <= 0:
        return None
    months = overpaid_months(entitlement_ended_on, payment_stopped_on, pay_day)
    if not months:
        return None
    return Overpayment(months, monthly_fen, len(months) * monthly_fen)


def yuan(fen: int) -> str:
    """Whole fen shown as yuan with two decimals ("3250.50"), through Decimal."""
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


class RecoverySettingsError(ValueError):
    """The recovery data file is malformed: says which key and why."""


def parse_pay_days(data: Mapping[str, Any]) -> PayDays:
    def day(value: Any, where: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 31:
            raise RecoverySettingsError(f"{where}: pay_day must be a whole number from 1 to 31")
        return value

    default = day(data.get("default", {}).get("pay_day", DEFAULT_PAY_DAY), "default")
    regions: dict[str, int] = {}
    for code, entry in (data.get("regions") or {}).items():
        if not (isinstance(code, str) and len(code) == 6 and code.isdigit()):
            raise RecoverySettingsError(f"regions: {code!r} is not a 6-digit region code")
        regions[code] = day(entry.get("pay_day", default), f"regions.{code}")
    return PayDays(default, MappingProxyType(regions))


@cache
def load_pay_days(path: Path = DEFAULT_RECOVERY_FILE) -> PayDays:
    with Path(path).open("rb") as handle:
        return parse_pay_days(tomllib.load(handle))


_YUAN = re.compile(r"-?\d+(?:\.\d+)?")
_GROUPED_YUAN = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def parse_yuan(text: str) -> int | None:
    """An amount typed by staff in yuan ("1250", "1,250.50", "¥1250.5元") as whole fen, through
    Decimal; None when it is not an amount or has more than two decimals. A negative amount
    is read as one (the service refuses it, and says why)."""
    cleaned = unicodedata.normalize("NFKC", text).strip().removeprefix("¥").removesuffix("元").strip()
    if _GROUPED_YUAN.fullmatch(cleaned):
        cleaned = cleaned.replace(",", "")
    if not _YUAN.fullmatch(cleaned):
        return None
    fen = Decimal(cleaned) * 100
    if fen != fen.to_integral_value():
        return None
    return int(fen)


def split_instalments(total_fen: int, count: int) -> list[int]:
    """`total_fen` in `count` instalments as even as whole fen allow, the larger ones first;
    they add up to the total exactly."""
    if count < 1 or total_fen < count:
        raise ValueError("need at least one instalment and at least one fen each")
    share, rest = divmod(total_fen, count)
    return [share + 1 if index < rest else share for index in range(count)]


def instalment_dates(first_due: date, count: int) -> list[date]:
    """One due date a month from `first_due`, on the same day (or the month's last day)."""
    dates = []
    year, month = first_due.year, first_due.month
    for _ in range(count):
        dates.append(date(year, month, min(first_due.day, calendar.monthrange(year, month)[1])))
        year, month = _month_after(year, month)
    return dates
