"""The payroll self-check: each row's problems, with the shortfall and the late fee to date.

Findings, per row (or per employee and month):
* ``not_registered``: not insured although the 30 days from the first day of work have
  passed (社会保险法 第五十八条); the shortfall is every month's contributions on the right
  base from the start month to the payroll month, each with its late fee (第八十六条);
* ``register_by``: not insured yet, still within the 30 days: the last day to register;
* ``base_below_floor`` / ``base_below_wage`` / ``base_above_ceiling``: the declared base is
  not the wage kept within the region's floor and ceiling (国办发〔2019〕13号);
* ``missing_month``: with a month column, a month from the file's first month (or the
  employee's start month) to its last month with no insured row for an employee who is
  insured in other months;
* ``invalid_id``, ``bad_value``, ``duplicate``: rows that cannot be checked as they are.

The shortfall counts both shares (the employer pays the employee's share over, having
withheld it) and work injury at the region's default class: an estimate for the employer
to act on, not an assessment. ID numbers are used in memory only: findings carry the
masked number, and nothing is logged.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from content.calculators.money import InputProblem, parse_amount, parse_date, parse_month, to_fen
from content.calculators.regions import Region
from content.calculators.rules import Rules, late_fee, load_rules, month_due_date, registration_deadline
from content.payroll.reader import Column, PayrollFile, PayrollRow
from kernel.idnumber import InvalidIdNumber, check_id_number, mask_id_number


class FindingKind(StrEnum):
    NOT_REGISTERED = "not_registered"
    REGISTER_BY = "register_by"
    BASE_BELOW_FLOOR = "base_below_floor"
    BASE_BELOW_WAGE = "base_below_wage"
    BASE_ABOVE_CEILING = "base_above_ceiling"
    MISSING_MONTH = "missing_month"
    INVALID_ID = "invalid_id"
    BAD_VALUE = "bad_value"
    DUPLICATE = "duplicate"


CITATIONS = {
    FindingKind.NOT_REGISTERED: "社会保险法 第五十八条；社会保险法 第八十六条",
    FindingKind.REGISTER_BY: "社会保险法 第五十八条",
    FindingKind.BASE_BELOW_FLOOR: "国办发〔2019〕13号；社会保险法 第八十六条",
    FindingKind.BASE_BELOW_WAGE: "国办发〔2019〕13号；社会保险法 第八十六条",
    FindingKind.BASE_ABOVE_CEILING: "国办发〔2019〕13号",
    FindingKind.MISSING_MONTH: "社会保险法 第六十条；社会保险法 第八十六条",
    FindingKind.INVALID_ID: "社会保险法 第五十八条",
    FindingKind.BAD_VALUE: "",
    FindingKind.DUPLICATE: "",
}

_YES = {"是", "已参保", "参保", "有", "y", "yes", "true", "1", "✓", "√", "已", "正常", "在保", "已缴"}
_NO = {"否", "未参保", "没有", "无", "n", "no", "false", "0", "✗", "×", "未", "停保", "未缴"}


@dataclass(frozen=True)
class Finding:
    row: int  # spreadsheet row number (0 for a whole-employee finding from several rows)
    kind: FindingKind
    name: str = field(repr=False)
    masked_id: str = field(repr=False)
    month: str = ""  # 2026-03, or a range 2026-01~2026-03
    wage: Decimal | None = None
    declared_base: Decimal | None = None
    correct_base: Decimal | None = None
    shortfall: Decimal = Decimal("0.00")
    late_fee: Decimal = Decimal("0.00")
    detail: str = ""  # a field name or a reason code, never personal data
    deadline: date | None = None


@dataclass
class PayrollReport:
    region: Region
    checked_on: date
    payroll_month: tuple[int, int]
    rows: int
    employees: int
    findings: list[Finding] = field(default_factory=list)
    merged_ranges: int = 0
    formulas_without_value: int = 0
    has_months: bool = False

    def count(self, *kinds: FindingKind) -> int:
        return sum(1 for finding in self.findings if finding.kind in kinds)

    @property
    def shortfall(self) -> Decimal:
        return sum((finding.shortfall for finding in self.findings), Decimal("0.00"))

    @property
    def late_fees(self) -> Decimal:
        return sum((finding.late_fee for finding in self.findings), Decimal("0.00"))


@dataclass
class _Row:
    number: int
    name: str = field(repr=False)
    id_number: str = field(repr=False)
    masked_id: str = field(repr=False)
    start: date
    wage: Decimal = field(repr=False)
    base: Decimal = field(repr=False)
    insured: bool
    month: tuple[int, int] | None


def _month_label(month: tuple[int, int]) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"


def _months(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    months = []
    year, month = first
    while (year, month) <= last:
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _insured(value: object) -> bool:
    text = str(value if value is not None else "").strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise InputProblem("not_yes_no")


def _amount(value: object) -> Decimal:
    return parse_amount(value, allow_zero=True)


_FIELD_PARSERS = (
    ("start_date", Column.START_DATE, parse_date),
    ("wage", Column.WAGE, _amount),
    ("declared_base", Column.DECLARED_BASE, _amount),
    ("insured", Column.INSURED, _insured),
)


class PayrollChecker:
    def __init__(self, region: Region, today: date, rules: Rules | None = None) -> None:
        self.region = region
        self.today = today
        self.rules = rules or load_rules()
        self._total_rate = region.total_rate()

    def check(self, payroll: PayrollFile) -> PayrollReport:
        findings: list[Finding] = []
        rows: list[_Row] = []
        for raw in payroll.rows:
            row = self._parse(raw, findings, payroll.has_months)
            if row is not None:
                rows.append(row)
        months = [row.month for row in rows if row.month]
        payroll_month = max(months) if months else (self.today.year, self.today.month)
        first_month = min(months) if months else payroll_month
        by_person: dict[str, list[_Row]] = defaultdict(list)
        seen: dict[tuple[str, tuple[int, int] | None], int] = {}
        for row in rows:
            key = (row.id_number, row.month)
            if key in seen:
                findings.append(
                    Finding(row.number, FindingKind.DUPLICATE, row.name, row.masked_id, detail=str(seen[key]))
                )
                continue
            seen[key] = row.number
            by_person[row.id_number].append(row)
            self._check_base(row, payroll_month, findings)
        for person_rows in by_person.values():
            self._check_person(person_rows, first_month, payroll_month, payroll.has_months, findings)
        findings.sort(key=lambda f: (f.row or 10**9, f.kind.value, f.month))
        return PayrollReport(
            region=self.region,
            checked_on=self.today,
            payroll_month=payroll_month,
            rows=len(payroll.rows),
            employees=len(by_person),
            findings=findings,
            merged_ranges=payroll.merged_ranges,
            formulas_without_value=payroll.formulas_without_value,
            has_months=payroll.has_months,
        )

    # ------------------------------------------------------------------ rows

    def _parse(self, raw: PayrollRow, findings: list[Finding], has_months: bool) -> _Row | None:
        cells = raw.cells
        name = str(cells.get(Column.NAME) or "").strip()[:50]
        raw_id = "" if cells.get(Column.ID_NUMBER) is None else str(cells[Column.ID_NUMBER]).strip()
        masked = mask_id_number(raw_id.upper()) if raw_id else ""

        def bad(detail: str) -> None:
            findings.append(Finding(raw.number, FindingKind.BAD_VALUE, name, masked, detail=detail))

        if not raw_id:
            bad("id_number:empty")
            return None
        checked = check_id_number(raw_id, today=self.today)
        if isinstance(checked, InvalidIdNumber):
            findings.append(
                Finding(raw.number, FindingKind.INVALID_ID, name, masked, detail=checked.reason.value)
            )
            return None
        values: dict[str, object] = {}
        problems: list[str] = []
        for key, column, parser in _FIELD_PARSERS:
            value = cells.get(column)
            try:
                if value is None or (isinstance(value, str) and not value.strip()):
                    raise InputProblem("empty")
                values[key] = parser(value)
            except InputProblem as problem:
                problems.append(f"{key}:{problem.code}")
        month = None
        if has_months:
            try:
                month = parse_month(cells.get(Column.MONTH))
            except InputProblem as problem:
                problems.append(f"month:{problem.code}")
        if not problems and values["start_date"] > self.today:  # type: ignore[operator]
            problems.append("start_date:in_future")
        if problems:
            for detail in problems:
                bad(detail)
            return None
        return _Row(
            raw.number,
            name,
            checked.number,
            mask_id_number(checked.number),
            values["start_date"],  # type: ignore[arg-type]
            values["wage"],  # type: ignore[arg-type]
            values["declared_base"],  # type: ignore[arg-type]
            values["insured"],  # type: ignore[arg-type]
            month,
        )

    def _late_fee_for(self, amount: Decimal, month: tuple[int, int]) -> Decimal:
        return late_fee(amount, month_due_date(*month, self.region), self.today, self.rules).fee

    def _check_base(self, row: _Row, payroll_month: tuple[int, int], findings: list[Finding]) -> None:
        if not row.insured:
            return
        correct = self.region.clamp(row.wage)
        if row.base == correct:
            return
        month = row.month or payroll_month
        if row.base > self.region.ceiling:
            kind = FindingKind.BASE_ABOVE_CEILING
        elif row.base < self.region.floor:
            kind = FindingKind.BASE_BELOW_FLOOR
        elif row.base < correct:
            kind = FindingKind.BASE_BELOW_WAGE
        else:
            return  # above the wage but within the limits: paying more than needed is allowed
        shortfall = to_fen((correct - row.base) * self._total_rate) if correct > row.base else Decimal("0.00")
        findings.append(
            Finding(
                row.number,
                kind,
                row.name,
                row.masked_id,
                month=_month_label(month),
                wage=row.wage,
                declared_base=row.base,
                correct_base=correct,
                shortfall=shortfall,
                late_fee=self._late_fee_for(shortfall, month) if shortfall else Decimal("0.00"),
            )
        )

    def _check_person(
        self,
        rows: list[_Row],
        first_month: tuple[int, int],
        payroll_month: tuple[int, int],
        has_months: bool,
        findings: list[Finding],
    ) -> None:
        rows = sorted(rows, key=lambda r: r.month or payroll_month)
        latest = rows[-1]
        start_month = (latest.start.year, latest.start.month)
        if not any(row.insured for row in rows):
            deadline = registration_deadline(latest.start, "employee", self.rules)
            correct = self.region.clamp(latest.wage)
            if self.today <= deadline.last_day:
                findings.append(
                    Finding(
                        latest.number,
                        FindingKind.REGISTER_BY,
                        latest.name,
                        latest.masked_id,
                        deadline=deadline.last_day,
                    )
                )
                return
            owed = _months(start_month, max(payroll_month, start_month))
            monthly = to_fen(correct * self._total_rate)
            fees = sum((self._late_fee_for(monthly, month) for month in owed), Decimal("0.00"))
            findings.append(
                Finding(
                    latest.number,
                    FindingKind.NOT_REGISTERED,
                    latest.name,
                    latest.masked_id,
                    month=_month_label(owed[0]) + ("~" + _month_label(owed[-1]) if len(owed) > 1 else ""),
                    wage=latest.wage,
                    correct_base=correct,
                    shortfall=monthly * len(owed),
                    late_fee=fees,
                    deadline=deadline.last_day,
                )
            )
            return
        if not has_months:
            return
        # A month counts as paid when an insured row says so; a month with only a row saying
        # "not insured" is as unpaid as a month with no row at all.
        present = {row.month for row in rows if row.insured}
        for month in _months(max(first_month, start_month), payroll_month):
            if month in present:
                continue
            nearest = min(rows, key=lambda r: abs((r.month[0] - month[0]) * 12 + r.month[1] - month[1]))  # type: ignore[index]
            correct = self.region.clamp(nearest.wage)
            amount = to_fen(correct * self._total_rate)
            findings.append(
                Finding(
                    0,
                    FindingKind.MISSING_MONTH,
                    nearest.name,
                    nearest.masked_id,
                    month=_month_label(month),
                    wage=nearest.wage,
                    correct_base=correct,
                    shortfall=amount,
                    late_fee=self._late_fee_for(amount, month),
                )
            )
