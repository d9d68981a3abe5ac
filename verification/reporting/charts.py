"""The report's three charts, drawn with reportlab.graphics: the same drawing goes into the PDF
and, as SVG, into the web console (no JavaScript, nothing fetched from elsewhere).

Readable first: 14 pt text, dark bars on white, the target as a red line with its words.
Chinese needs a font: in the PDF the TrueType CJK font of `verification.documents.fonts`,
embedded (the CID font STSong-Light only when there is none); an SVG only names a font, so `svg`
names one the browser has (a CJK sans-serif, or any sans-serif).
"""

from __future__ import annotations

import hashlib
import re
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import (  # type: ignore[import-untyped]
    HorizontalBarChart,
    VerticalBarChart,
)
from reportlab.graphics.shapes import Drawing, Line, String  # type: ignore[import-untyped]
from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.attrmap import AttrMap, AttrMapValue  # type: ignore[import-untyped]
from reportlab.lib.validators import isString  # type: ignore[import-untyped]
from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped]

from content.i18n import Translator
from verification.checkplan.means import Means
from verification.documents.fonts import EMBEDDED, NOT_EMBEDDED, pdf_font
from verification.reporting.figures import QuarterFigures

SVG_FONT = "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', sans-serif"
SIZE = 14
INK = colors.HexColor("#111111")
BAR = colors.HexColor("#1f4e79")
TARGET = colors.HexColor("#c00000")
WIDTH = 480
LABEL_GAP = 8  # between a category's label and the axis


class Chart(Drawing):  # type: ignore[misc]
    """A drawing with a title, which `svg` writes as the <title> a screen reader announces."""

    _attrMap = AttrMap(BASE=Drawing, title=AttrMapValue(isString, desc="what the chart shows"))

    def __init__(self, width: float, height: float, title: str) -> None:
        super().__init__(width, height)
        self.title = title


def _drawing(title: str, height: int) -> Drawing:
    drawing = Chart(WIDTH, height, title)
    drawing.add(String(WIDTH / 2, height - 20, title, fontName=pdf_font(), fontSize=SIZE + 2, fillColor=INK,
                       textAnchor="middle"))  # fmt: skip
    return drawing


def _style(chart: VerticalBarChart | HorizontalBarChart) -> None:
    font = pdf_font()
    chart.bars[0].fillColor = BAR
    chart.bars[0].strokeColor = None
    for axis in (chart.categoryAxis, chart.valueAxis):
        axis.labels.fontName, axis.labels.fontSize, axis.labels.fillColor = font, SIZE, INK
        axis.strokeColor = INK
    chart.barLabels.fontName, chart.barLabels.fontSize, chart.barLabels.fillColor = font, SIZE, INK
    chart.barLabelFormat = "%d"


def coverage_chart(figures: QuarterFigures, t: Translator) -> Drawing:
    """The share of the region's retirees checked since 1 January, month by month, against the
    target (a red line)."""
    target = f"{figures.target:.0%}"
    drawing = _drawing(t("report.chart.coverage", target=target), 280)
    months = figures.monthly_coverage or [(f"{figures.quarter[:4]}-01", 0.0)]
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 70, 50, WIDTH - 90, 180
    chart.data = [[round(share * 100, 1) for _, share in months]]
    chart.categoryAxis.categoryNames = [label[5:] for label, _ in months]  # "10" for "2026-10"
    _style(chart)
    chart.barLabelFormat = "%.0f%%"
    chart.barLabels.nudge = 8
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labelTextFormat = "%d%%"
    y = chart.y + chart.height * figures.target
    for index, (_, share) in enumerate(months):
        top = chart.y + chart.height * min(share, 1.0)
        if top - 2 <= y <= top + chart.barLabels.nudge + SIZE + 2:
            # The target line would cross the label just above the bar: lift it above the line.
            chart.barLabels[(0, index)].nudge = y - top + 6
    drawing.add(chart)
    drawing.add(Line(chart.x, y, chart.x + chart.width, y, strokeColor=TARGET, strokeWidth=2.5,
                     strokeDashArray=[6, 3]))  # fmt: skip
    # At the left end, over January's bars: the cumulative share is lowest there, so the words
    # stay clear of the bars and their labels.
    drawing.add(String(chart.x + 6, y + 5, t("report.chart.target", target=target), fontName=pdf_font(),
                       fontSize=SIZE, fillColor=TARGET, textAnchor="start"))  # fmt: skip
    drawing.add(String(WIDTH / 2, 12, t("report.chart.month_axis"), fontName=pdf_font(), fontSize=SIZE,
                       fillColor=INK, textAnchor="middle"))  # fmt: skip
    return drawing


def methods_chart(figures: QuarterFigures, t: Translator) -> Drawing:
    """Retirees certified in the quarter by each means (one retiree may count under several)."""
    drawing = _drawing(t("report.chart.methods"), 340)
    means = list(Means)
    labels = [t(f"report.means.{m.value}") for m in reversed(means)]
    chart = HorizontalBarChart()
    # The labels stand left of the axis: room for the longest, whatever the language.
    left = 10 + max(stringWidth(label, pdf_font(), SIZE) for label in labels) + LABEL_GAP
    chart.x, chart.y, chart.width, chart.height = left, 20, WIDTH - left - 40, 280
    # The first category is drawn at the bottom: reversed, the list reads top-down.
    chart.data = [[int(figures.value(f"certified.{m.value}")) for m in reversed(means)]]
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.dx = -LABEL_GAP
    _style(chart)
    chart.barLabels.nudge = 12
    chart.valueAxis.valueMin = 0
    chart.valueAxis.forceZero = True
    drawing.add(chart)
    return drawing


def backlog_chart(figures: QuarterFigures, t: Translator) -> Drawing:
    """Open review cases and pass audits by how long they have waited."""
    drawing = _drawing(t("report.chart.backlog"), 260)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 60, 50, WIDTH - 80, 160
    buckets = list(figures.backlog_ages.items())
    chart.data = [[count for _, count in buckets]]
    chart.categoryAxis.categoryNames = [t("report.chart.days", bucket=label) for label, _ in buckets]
    _style(chart)
    chart.barLabels.nudge = 8
    chart.valueAxis.valueMin = 0
    chart.valueAxis.forceZero = True
    # Cases are counted whole: steps of whole numbers, at least 1.
    chart.valueAxis.valueMax = max(1, *(count for _, count in buckets))
    chart.valueAxis.valueStep = max(1, -(-chart.valueAxis.valueMax // 5))
    drawing.add(chart)
    return drawing


def svg(drawing: Drawing) -> str:
    """The drawing as an <svg> element to inline in a page: its title for screen readers, a
    font the browser resolves."""
    from reportlab.graphics import renderSVG  # type: ignore[import-untyped]

    text = str(renderSVG.drawToString(drawing))
    text = text[text.index("<svg") :]  # no XML prolog nor DOCTYPE inside HTML
    title = escape(str(getattr(drawing, "title", "") or ""))
    text = text.replace("<title>...</title>", f"<title>{title}</title>", 1).replace("<desc>...</desc>", "", 1)
    text = text.replace("<svg ", f'<svg role="img" aria-label="{escape(title, {chr(34): "&quot;"})}" ', 1)
    # renderSVG names its clip path "clip": several charts inline in one page would all clip
    # to the first one's box. A name of the chart's own keeps each to its own.
    clip = "clip-" + hashlib.sha256(title.encode()).hexdigest()[:10]
    text = text.replace('id="clip"', f'id="{clip}"').replace("url(#clip)", f"url(#{clip})")
    fonts = "|".join(map(re.escape, (EMBEDDED, NOT_EMBEDDED)))
    return re.sub(r"font-family:\s*(?:" + fonts + ")", f"font-family: {SVG_FONT}", text)
