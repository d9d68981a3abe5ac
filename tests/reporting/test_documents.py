"""The report's documents say what the figures say: the workbook read back with openpyxl, the
PDF rendered to images with pdfium (pages not blank, the text layer holding the title and the
figures), the charts as SVG to inline in a page. No names anywhere."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pypdfium2 as pdfium
import pytest
from openpyxl import load_workbook
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.pdfbase.pdfmetrics import stringWidth

from content.i18n import Translator
from tests.checkplan.helpers import HOME, SHANGHAI
from tests.reporting.helpers import Q4, REPORT_NOW, build_world
from verification.documents import fonts
from verification.reporting.charts import LABEL_GAP, backlog_chart, coverage_chart, methods_chart, svg
from verification.reporting.documents import TRACE_COLUMNS, render_pdf, render_xlsx
from verification.reporting.service import QuarterlyReportService

TITLE = "领取养老金资格认证工作季度报告"


async def _report(uow_factory, vault):
    await build_world(uow_factory, vault)
    service = QuarterlyReportService(uow_factory, clock=lambda: REPORT_NOW, zone=SHANGHAI)
    return await service.figures(HOME, Q4), await service.trace(HOME, Q4)


async def test_the_workbook_holds_every_figure_the_months_and_the_records_counted(uow_factory, vault):
    figures, trace = await _report(uow_factory, vault)
    t = Translator("zh_Hans")
    book = load_workbook(io.BytesIO(render_xlsx(figures, t, trace=trace)))
    sheet = book["主要数字"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == TITLE and rows[1][0] == f"地区：{HOME}"
    header = rows.index(("项目", "代码", "数值", "统计口径"))
    read = {key: (label, value, source) for label, key, value, source in rows[header + 1 :]}
    assert list(read) == list(figures.figures)  # every figure, in the report's order
    for key, figure in figures.figures.items():
        assert read[key] == (t(f"report.figure.{key}"), figure.value, figure.source_text(t)), key
    assert read["certified"][:2] == ("本季度认证人数", 9)

    monthly = list(book["每月覆盖率"].iter_rows(values_only=True))
    assert monthly[1:] == [(month, share, 0.6) for month, share in figures.monthly_coverage]

    records = list(book["记录明细"].iter_rows(values_only=True))
    assert records[1] == tuple(t(f"report.trace.{column}") for column in TRACE_COLUMNS)
    assert [row for row in records[2:]] == [tuple(getattr(r, c) for c in TRACE_COLUMNS) for r in trace]
    assert len(records) - 2 == len(trace) == 12
    text = " ".join(str(cell) for ws in book for row in ws.iter_rows(values_only=True) for cell in row)
    assert "老人" not in text  # the seeded names

    english = load_workbook(io.BytesIO(render_xlsx(figures, Translator("en"))))
    assert english.sheetnames == ["Figures", "Monthly coverage", "Records counted"]


async def test_the_pdf_draws_its_pages_and_carries_the_figures_as_text(uow_factory, vault, tmp_path):
    figures, _ = await _report(uow_factory, vault)
    data = render_pdf(figures, Translator("zh_Hans"))
    assert data.startswith(b"%PDF") and "老人".encode("utf-16-be") not in data
    pdf = pdfium.PdfDocument(data)
    try:
        text = ""
        for number, page in enumerate(pdf):
            image = page.render(scale=1.5).to_pil().convert("L")
            image.save(tmp_path / f"report-page{number + 1}.png")
            dark = sum(image.histogram()[:128])  # pixels darker than mid-grey
            assert dark > 2_000, f"page {number + 1} is (nearly) blank"
            textpage = page.get_textpage()
            text += textpage.get_text_range()
            textpage.close()
            page.close()
        assert len(pdf) >= 2
    finally:
        pdf.close()
    assert TITLE in text and "本季度认证人数" in text and "目标 60%" in text
    assert "本年已认证 10 人，占本地区退休人员 15 人的 66.7%" in text
    assert f"{figures.value('certified')}" in text and "3,000.00 元" in text  # recovery owed
    assert (tmp_path / "report-page1.png").stat().st_size > 10_000

    english = pdfium.PdfDocument(render_pdf(figures, Translator("en")))
    try:
        page = english[0]
        textpage = page.get_textpage()
        assert "Quarterly report" in textpage.get_text_range()
        textpage.close()
        page.close()
    finally:
        english.close()


async def test_the_charts_inline_as_readable_svg(uow_factory, vault):
    figures, _ = await _report(uow_factory, vault)
    t = Translator("zh_Hans")
    for chart, title in (
        (coverage_chart, "本年累计覆盖率（目标 60%）"),
        (methods_chart, "本季度各认证方式的人数"),
        (backlog_chart, "待处理的复核和抽查（按已等待天数）"),
    ):
        drawn = svg(chart(figures, t))
        assert drawn.startswith("<svg") and "<?xml" not in drawn
        root = ET.fromstring(drawn)
        assert root.find("{http://www.w3.org/2000/svg}title").text == title
        assert "Noto Sans CJK SC" in drawn and "STSong" not in drawn
        assert "font-size: 14px" in drawn
    assert "目标 60%" in svg(coverage_chart(figures, t))
    assert "自助认证" in svg(methods_chart(figures, t)) and "8-30天" in svg(backlog_chart(figures, t))


def _pdf_text(data: bytes) -> str:
    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[0]
        textpage = page.get_textpage()
        text = str(textpage.get_text_range())
        textpage.close()
        page.close()
        return text
    finally:
        pdf.close()


async def test_the_pdf_embeds_its_chinese_font(uow_factory, vault):
    if fonts.embedded_font_file() is None:
        pytest.skip(
            "no TrueType CJK font here (install fonts-wqy-microhei or set REPORT_FONT_FILE):"
            " the PDF falls back to the CID font STSong-Light, which is not embedded"
        )
    figures, _ = await _report(uow_factory, vault)
    data = render_pdf(figures, Translator("zh_Hans"))
    assert b"/FontFile2" in data  # the TrueType glyphs are in the file
    assert b"STSong" not in data  # nothing left for the reader to supply
    assert TITLE in _pdf_text(data)  # the text layer still reads as Chinese


def test_without_a_truetype_font_the_pdf_falls_back_to_the_cid_font_with_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(fonts, "font_files", lambda: [])
    fonts.embedded_font_file.cache_clear()
    fonts.pdf_font.cache_clear()
    try:
        with caplog.at_level("WARNING", logger=fonts.__name__):
            assert fonts.pdf_font() == fonts.NOT_EMBEDDED
            assert fonts.pdf_font() == fonts.NOT_EMBEDDED
        assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
        assert "not embedded" in caplog.records[0].message
    finally:
        fonts.embedded_font_file.cache_clear()
        fonts.pdf_font.cache_clear()


def test_the_font_file_can_be_chosen_and_an_unusable_one_is_passed_over(monkeypatch, tmp_path):
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    monkeypatch.setenv(fonts.ENVIRONMENT, str(broken))
    assert fonts.font_files()[0] == broken
    monkeypatch.setattr(fonts, "font_files", lambda: [broken])
    fonts.embedded_font_file.cache_clear()
    try:
        assert fonts.embedded_font_file() is None
    finally:
        fonts.embedded_font_file.cache_clear()


async def test_every_label_of_the_methods_chart_fits_left_of_its_axis(uow_factory, vault):
    figures, _ = await _report(uow_factory, vault)
    for language in ("zh_Hans", "en"):
        drawing = methods_chart(figures, Translator(language))
        chart = next(item for item in drawing.contents if isinstance(item, HorizontalBarChart))
        for label in chart.categoryAxis.categoryNames:
            width = stringWidth(label, chart.categoryAxis.labels.fontName, chart.categoryAxis.labels.fontSize)
            assert chart.x - LABEL_GAP - width >= 0, (language, label)
        assert chart.x + chart.width <= drawing.width


async def test_what_each_figure_was_counted_from_reads_in_both_languages(uow_factory, vault):
    figures, _ = await _report(uow_factory, vault)
    zh, en = Translator("zh_Hans"), Translator("en")
    for figure in figures.figures.values():
        chinese, english = figure.source_text(zh), figure.source_text(en)
        assert chinese and english and chinese != english and "{" not in chinese + english, figure.key
        assert figure.source == english
    prefix = figures.figures["retirees"].source_params["prefix"]
    assert figures.figures["retirees"].source_text(zh) == f"居住在{prefix}开头地区的退休人员，按花名册计。"
    assert "本季度认证人数" in _pdf_text(render_pdf(figures, zh))
    book = load_workbook(io.BytesIO(render_xlsx(figures, zh)))
    column = [row[3] for row in book["主要数字"].iter_rows(values_only=True) if len(row) > 3 and row[3]]
    assert figures.figures["retirees"].source_text(zh) in column
