"""The quarterly report as documents: a workbook (every figure with how it was counted, the
coverage month by month, and the verification records counted) and a PDF for the supervisor
(the figures, the coverage against the target, the three charts). Texts from the catalogs
(report.po); no names, no ID numbers: the trace lists records by chain, seq and uid only.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from content.i18n import Translator
from storage.repositories.reporting import TracedRecord
from verification.documents.fonts import pdf_font
from verification.reporting.charts import backlog_chart, coverage_chart, methods_chart
from verification.reporting.figures import QuarterFigures, target_count

TRACE_COLUMNS = ("source", "region", "seq", "record_uid", "event", "method", "occurred_at", "counted_as")


def heading(figures: QuarterFigures, t: Translator) -> tuple[str, str, str]:
    """The title, the region line and the quarter line."""
    region = figures.region or t("report.region_all")
    year, number = figures.quarter.split("Q")
    return (
        t("report.title"),
        t("report.region", region=region),
        t("report.quarter", year=year, number=number, quarter=figures.quarter),
    )


def coverage_text(figures: QuarterFigures, t: Translator) -> str:
    retirees = int(figures.value("retirees"))
    line = t(
        "report.coverage",
        checked=figures.value("checked_year"),
        retirees=retirees,
        share=f"{figures.share:.1%}",
        target=f"{figures.target:.0%}",
        target_count=target_count(figures.target, retirees),
    )
    shortfall = int(figures.value("shortfall"))
    return line + (
        t("report.coverage.short", shortfall=shortfall) if shortfall else t("report.coverage.reached")
    )


def shown(key: str, value: int | Decimal, t: Translator) -> str:
    """A figure as a person reads it: amounts in yuan, counts as they are."""
    if key.endswith("_fen"):
        return t("report.yuan", amount=f"{Decimal(value) / 100:,.2f}")
    return f"{value:,}"


def render_xlsx(figures: QuarterFigures, t: Translator, *, trace: Sequence[TracedRecord] = ()) -> bytes:
    """The workbook: figures (label, key, value, how counted), monthly coverage, the trace."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = t("report.sheet.figures")
    bold = Font(bold=True)
    for line in heading(figures, t):
        sheet.append([line])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([coverage_text(figures, t)])
    sheet.append([])
    columns = ["report.column.label", "report.column.key", "report.column.value", "report.column.source"]
    sheet.append([t(key) for key in columns])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for figure in figures.figures.values():
        value: Any = int(figure.value) if isinstance(figure.value, int) else figure.value
        sheet.append([t(f"report.figure.{figure.key}"), figure.key, value, figure.source_text(t)])
    for column, width in zip("ABCD", (34, 36, 14, 110), strict=True):
        sheet.column_dimensions[column].width = width

    monthly = book.create_sheet(t("report.sheet.monthly"))
    monthly.append([t("report.column.month"), t("report.column.share"), t("report.column.target")])
    for cell in monthly[1]:
        cell.font = bold
    for month, share in figures.monthly_coverage:
        monthly.append([month, share, figures.target])
        for cell in monthly[monthly.max_row][1:]:
            cell.number_format = "0.0%"
    monthly.column_dimensions["B"].width = monthly.column_dimensions["C"].width = 22

    records = book.create_sheet(t("report.sheet.trace"))
    records.append([t("report.trace.note")])
    records.append([t(f"report.trace.{column}") for column in TRACE_COLUMNS])
    for cell in records[2]:
        cell.font = bold
    for row in trace:
        records.append([getattr(row, column) for column in TRACE_COLUMNS])
    for column, width in zip("ABCDEFGH", (10, 14, 8, 40, 16, 16, 28, 16), strict=True):
        records.column_dimensions[column].width = width

    out = BytesIO()
    book.save(out)
    return out.getvalue()


def render_pdf(figures: QuarterFigures, t: Translator) -> bytes:
    """The PDF: title, region, quarter, coverage against the target, the figures with how each
    was counted, and the three charts. The Chinese is drawn with an embedded TrueType font
    (`verification.documents.fonts`)."""
    # Imported here: reportlab is loaded only when a report is asked for.
    from reportlab.lib import colors  # type: ignore[import-untyped]
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
    from reportlab.lib.units import mm  # type: ignore[import-untyped]
    from reportlab.platypus import (  # type: ignore[import-untyped]
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    body = ParagraphStyle("body", fontName=pdf_font(), fontSize=11, leading=16, wordWrap="CJK", spaceAfter=4)
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=1, spaceAfter=8)
    section = ParagraphStyle("section", parent=body, fontSize=13, leading=20, spaceBefore=10, spaceAfter=6)
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=10, spaceAfter=0)
    cell = ParagraphStyle("cell", parent=body, spaceAfter=0)

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text), style)

    name, region, quarter = heading(figures, t)
    rows = [
        [para(t(key), cell) for key in ("report.column.label", "report.column.value", "report.column.source")]
    ]
    for figure in figures.figures.values():
        rows.append(
            [
                para(t(f"report.figure.{figure.key}"), cell),
                para(shown(figure.key, figure.value, t), cell),
                para(figure.source_text(t), small),
            ]
        )
    table = Table(rows, colWidths=[58 * mm, 28 * mm, 94 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#555555")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde6f0")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (1, 1), (1, -1), "RIGHT"),
            ]
        )
    )
    story = [
        para(name, title),
        para(region),
        para(quarter),
        Spacer(1, 3 * mm),
        para(coverage_text(figures, t), section),
        KeepTogether([coverage_chart(figures, t)]),
        para(t("report.section.figures"), section),
        table,
        KeepTogether([para(t("report.section.charts"), section), methods_chart(figures, t)]),
        Spacer(1, 6 * mm),
        KeepTogether([backlog_chart(figures, t)]),
    ]
    out = BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Quarterly report {figures.region or 'all'} {figures.quarter}",  # ASCII metadata
    )
    document.build(story)
    return out.getvalue()
