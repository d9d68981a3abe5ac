"""The self-check's answer: a short summary, and a findings file (CSV or XLSX, like the
upload) with one line per finding. ID numbers appear masked only. Texts come from the
catalogs through `t` (a content.i18n.Translator)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from content.calculators.money import format_yuan
from content.payroll.check import CITATIONS, Finding, FindingKind, PayrollReport

Translate = Callable[..., str]

_SUMMARY_ORDER = (
    FindingKind.NOT_REGISTERED,
    FindingKind.REGISTER_BY,
    FindingKind.BASE_BELOW_FLOOR,
    FindingKind.BASE_BELOW_WAGE,
    FindingKind.BASE_ABOVE_CEILING,
    FindingKind.MISSING_MONTH,
    FindingKind.DUPLICATE,
    FindingKind.INVALID_ID,
    FindingKind.BAD_VALUE,
)
_COLUMNS = (
    "row",
    "name",
    "id",
    "finding",
    "month",
    "wage",
    "declared_base",
    "correct_base",
    "shortfall",
    "late_fee",
    "source",
)


@dataclass(frozen=True)
class ReportFile:
    name: str
    data: bytes
    mime_type: str


def summary_text(report: PayrollReport, t: Translate, language: str) -> str:
    lines = [
        t(
            "payroll.summary.head",
            rows=report.rows,
            employees=report.employees,
            region=report.region.name(language),
            date=t.date(report.checked_on) if hasattr(t, "date") else report.checked_on.isoformat(),
        )
    ]
    if not report.findings:
        lines.append(t("payroll.summary.clean"))
    for kind in _SUMMARY_ORDER:
        count = report.count(kind)
        if count:
            lines.append("• " + t(f"payroll.summary.{kind.value}", count=count))
    if report.shortfall:
        lines.append(
            t(
                "payroll.summary.money",
                shortfall=format_yuan(report.shortfall),
                late_fee=format_yuan(report.late_fees),
            )
        )
    if report.merged_ranges:
        lines.append(t("payroll.summary.merged", count=report.merged_ranges))
    if report.formulas_without_value:
        lines.append(t("payroll.summary.formulas", count=report.formulas_without_value))
    if report.region.sample:
        lines.append(t("payroll.summary.sample_region"))
    if report.findings:
        lines.append(t("payroll.summary.file"))
    return "\n".join(lines)


def finding_text(finding: Finding, report: PayrollReport, t: Translate) -> str:
    kind = finding.kind
    if kind is FindingKind.BAD_VALUE:
        field_name, _, code = finding.detail.partition(":")
        return t(
            "payroll.finding.bad_value",
            field=t(f"payroll.field.{field_name}"),
            problem=t(f"calc.error.{code}"),
        )
    if kind is FindingKind.INVALID_ID:
        return t("payroll.finding.invalid_id", reason=t(f"payroll.id_reason.{finding.detail}"))
    if kind is FindingKind.DUPLICATE:
        return t("payroll.finding.duplicate", other=finding.detail)
    deadline = finding.deadline.isoformat() if finding.deadline else ""
    return t(
        f"payroll.finding.{kind.value}",
        deadline=deadline,
        month=finding.month,
        floor=format_yuan(report.region.floor),
        ceiling=format_yuan(report.region.ceiling),
    )


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (names come from the uploaded file)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def findings_rows(report: PayrollReport, t: Translate) -> list[list[str]]:
    rows = [[t(f"payroll.column.{column}", date=report.checked_on.isoformat()) for column in _COLUMNS]]
    for finding in report.findings:
        rows.append(
            [
                str(finding.row) if finding.row else "",
                _safe(finding.name),
                finding.masked_id,
                finding_text(finding, report, t),
                finding.month,
                _money(finding.wage),
                _money(finding.declared_base),
                _money(finding.correct_base),
                _money(finding.shortfall),
                _money(finding.late_fee),
                CITATIONS[finding.kind],
            ]
        )
    return rows


def findings_file(report: PayrollReport, t: Translate, kind: str) -> ReportFile:
    rows = findings_rows(report, t)
    stem = f"payroll-check-{report.checked_on.isoformat()}"
    if kind == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(t("payroll.sheet_title"))
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        return ReportFile(
            f"{stem}.xlsx",
            buffer.getvalue(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    # With a BOM, Excel opens the UTF-8 file with its Chinese intact.
    return ReportFile(f"{stem}.csv", text.getvalue().encode("utf-8-sig"), "text/csv")
