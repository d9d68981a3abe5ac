"""Money and dates as people type them: parsing, and rounding to the fen.

Every amount is a `decimal.Decimal`; nothing is ever a float. Parsing refuses with a
`InputProblem` whose `code` names the problem for the catalogs (calc.error.<code>).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
MAX_AMOUNT = Decimal("100000000")  # 100 million yuan: anything larger is a typing error


class InputProblem(ValueError):
    """A typed value that cannot be used; `code` is a stable reason, `params` fill the text."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def to_fen(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def format_yuan(value: Decimal) -> str:
    """12345.6 -> '12,345.60'."""
    return f"{to_fen(value):,.2f}"


_MULTIPLIERS = {"万": Decimal(10000), "w": Decimal(10000), "千": Decimal(1000), "k": Decimal(1000)}
_AMOUNT_NOISE = re.compile(r"[\s,，_'’¥￥$]|元|块钱|块|rmb|cny|yuan", re.IGNORECASE)


def parse_amount(text: object, *, allow_zero: bool = False) -> Decimal:
    """'8000', '8,000元', '￥8000.5', '0.8万', '８０００' -> Decimal; refuses text and negatives."""
    if isinstance(text, bool):
        raise InputProblem("not_a_number")
    if isinstance(text, int | float | Decimal):
        value = Decimal(str(text))
    else:
        raw = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
        if not raw:
            raise InputProblem("empty")
        cleaned = _AMOUNT_NOISE.sub("", raw)
        multiplier = Decimal(1)
        if cleaned and cleaned[-1] in _MULTIPLIERS:
            multiplier = _MULTIPLIERS[cleaned[-1]]
            cleaned = cleaned[:-1]
        if not re.fullmatch(r"[+-]?\d+(\.\d+)?", cleaned):
            raise InputProblem("not_a_number")
        try:
            value = Decimal(cleaned) * multiplier
        except InvalidOperation as error:  # pragma: no cover - the pattern above prevents it
            raise InputProblem("not_a_number") from error
    if not value.is_finite():
        raise InputProblem("not_a_number")
    if value < 0:
        raise InputProblem("negative")
    if value == 0 and not allow_zero:
        raise InputProblem("zero")
    if value > MAX_AMOUNT:
        raise InputProblem("too_large")
    return value


_DATE_PATTERNS = (
    re.compile(r"^(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?$"),
    re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"),
)
_SHORT_DATE = re.compile(r"^(?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?$")


def parse_date(text: object, *, today: date | None = None) -> date:
    """'2026-03-01', '2026/3/1', '2026年3月1日', '20260301', '3月1日' (this year)."""
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    raw = unicodedata.normalize("NFKC", str(text or "")).strip().replace(" ", "")
    if not raw:
        raise InputProblem("empty")
    raw = raw.split("T")[0]
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}\d{2}:\d{2}:\d{2}", raw):  # '2026-03-01 00:00:00' without space
        raw = raw[:10]
    for pattern in _DATE_PATTERNS:
        match = pattern.match(raw)
        if match:
            return _date(int(match["y"]), int(match["m"]), int(match["d"]))
    match = _SHORT_DATE.match(raw)
    if match and today is not None:
        return _date(today.year, int(match["m"]), int(match["d"]))
    raise InputProblem("not_a_date")


def _date(year: int, month: int, day: int) -> date:
    try:
        value = date(year, month, day)
    except ValueError as error:
        raise InputProblem("not_a_date") from error
    if not 1900 <= year <= 2100:
        raise InputProblem("not_a_date")
    return value


_MONTH_PATTERNS = (
    re.compile(r"^(?P<y>\d{4})[-/.年](?P<m>\d{1,2})月?$"),
    re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})$"),
)


def parse_month(text: object) -> tuple[int, int]:
    """'2026-03', '2026/3', '2026年3月', '202603', or a date -> (2026, 3)."""
    if isinstance(text, datetime | date):
        return text.year, text.month
    raw = unicodedata.normalize("NFKC", str(text or "")).strip().replace(" ", "")
    if not raw:
        raise InputProblem("empty")
    for pattern in _MONTH_PATTERNS:
        match = pattern.match(raw)
        if match and 1 <= int(match["m"]) <= 12 and 1900 <= int(match["y"]) <= 2100:
            return int(match["y"]), int(match["m"])
    try:
        parsed = parse_date(raw)
    except InputProblem as error:
        raise InputProblem("not_a_month") from error
    return parsed.year, parsed.month
