"""The payroll self-check: known findings with their amounts, every kind of bad file, and ID
numbers kept out of logs, storage and the returned file."""

from __future__ import annotations

import csv
import io
import logging
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from content.calculators.regions import load_regions
from content.i18n import Translator
from content.payroll.check import FindingKind, PayrollChecker
from content.payroll.reader import MAX_PAYROLL_BYTES, PayrollFileError, read_payroll
from content.payroll.report import findings_file, summary_text
from kernel.idnumber import mask_id_number
from storage.models import ErrorRecord
from tests.employer.conftest import TODAY
from tests.employer.payrolls import (
    HEADER_EN,
    all_ids,
    csv_bytes,
    known_rows,
    person,
    xlsx_bytes,
)


@pytest.fixture(scope="module")
def region():
    return load_regions().get("sample-a")


def _check(data: bytes, region, today: date = TODAY):
    return PayrollChecker(region, today).check(read_payroll(data))


def _found(report) -> set[tuple[int, str, str]]:
    return {(f.row, f.kind.value, f.masked_id) for f in report.findings}


def test_known_findings_with_shortfall_and_late_fee(region):
    rows, expected = known_rows(TODAY)
    report = _check(csv_bytes(rows), region)
    assert _found(report) == {(e.row, e.kind, e.masked_id) for e in expected}
    by_kind = {f.kind: f for f in report.findings}
    # 赵六: base 6,000 for a wage of 9,000; all rates of sample-a together are 33.2 %.
    below = by_kind[FindingKind.BASE_BELOW_WAGE]
    assert (below.correct_base, below.shortfall, below.month) == (
        Decimal("9000"),
        Decimal("996.00"),
        "2026-11",
    )
    assert below.late_fee == Decimal("5.98")  # due 2026-11-15, 12 days to 2026-11-27
    floor = by_kind[FindingKind.BASE_BELOW_FLOOR]
    assert (floor.correct_base, floor.shortfall) == (Decimal("6000.00"), Decimal("664.00"))
    assert by_kind[FindingKind.BASE_ABOVE_CEILING].shortfall == Decimal("0.00")
    # 李四 started 90 days ago (2026-08-29) and was never registered: September to November.
    missing = by_kind[FindingKind.NOT_REGISTERED]
    assert missing.month == "2026-08~2026-11" and missing.shortfall == Decimal("2324.00") * 4
    assert missing.late_fee > 0 and missing.deadline == date(2026, 9, 28)
    assert by_kind[FindingKind.REGISTER_BY].deadline == date(2026, 12, 22)
    assert report.count(FindingKind.BAD_VALUE) == 2
    assert report.shortfall == sum((f.shortfall for f in report.findings), Decimal(0))


def test_missing_months_from_a_month_column(region):
    header = ["姓名", "身份证号码", "入职日期", "应发工资", "申报基数", "是否参保", "月份"]
    rows = [
        ["张三", person(1), "2025-06-01", "8000", "8000", "是", "2026-01"],
        ["张三", person(1), "2025-06-01", "8000", "8000", "是", "2026-03"],
        ["李四", person(2), "2026-02-10", "7000", "7000", "是", "2026-03"],
        ["王五", person(3), "2025-01-01", "7000", "7000", "是", "2026-01"],
        ["王五", person(3), "2025-01-01", "7000", "7000", "否", "2026-02"],
        ["王五", person(3), "2025-01-01", "7000", "7000", "是", "2026-03"],
    ]
    report = _check(csv_bytes(rows, header), region)
    missing = sorted((f.masked_id, f.month) for f in report.findings if f.kind is FindingKind.MISSING_MONTH)
    assert missing == [
        (mask_id_number(person(1)), "2026-02"),
        (mask_id_number(person(2)), "2026-02"),  # started 10 February: February is owed
        (mask_id_number(person(3)), "2026-02"),  # a row saying "not insured" is an unpaid month
    ]
    assert report.has_months and report.payroll_month == (2026, 3)
    february = next(f for f in report.findings if f.masked_id == mask_id_number(person(1)))
    assert february.shortfall == Decimal("2656.00") and february.late_fee > 0


def test_english_headers_and_xlsx_give_the_same_findings(region):
    rows, expected = known_rows(TODAY)
    english = _check(csv_bytes(rows, HEADER_EN), region)
    workbook = _check(xlsx_bytes(rows), region)
    assert _found(english) == _found(workbook) == {(e.row, e.kind, e.masked_id) for e in expected}


def test_a_gbk_encoded_csv_is_read_like_utf8(region):
    rows, expected = known_rows(TODAY)
    data = csv_bytes(rows, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    payroll = read_payroll(data)
    assert payroll.encoding == "gb18030" and payroll.rows[0].cells
    assert _found(_check(data, region)) == {(e.row, e.kind, e.masked_id) for e in expected}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        ("姓名,工号,部门\n张三,001,财务\n".encode(), "missing_columns"),
        (csv_bytes([]), "no_rows"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old_xls"),
        (b"%PDF-1.7 not a table", "not_a_table"),
        (b"PK\x03\x04 broken zip", "unreadable"),
        (bytes([0x81, 0x30, 0xFF, 0xFE, 0x80]) * 10, "unknown_encoding"),
    ],
)
def test_unusable_files_are_refused_with_a_reason(data, code):
    with pytest.raises(PayrollFileError) as refused:
        read_payroll(data)
    assert refused.value.code == code


def test_wrong_columns_are_named(region):
    with pytest.raises(PayrollFileError) as refused:
        read_payroll("姓名,身份证号码,工资\n张三,1,2\n".encode())
    params = refused.value.params
    assert "入职日期/start_date" in params["missing"] and "是否参保/insured" in params["missing"]
    assert "姓名" in params["found"]
    assert "入职日期/start_date" in Translator("zh_Hans")("payroll.error.missing_columns", **params)


def test_a_50_mb_file_is_refused_by_size_before_parsing():
    with pytest.raises(PayrollFileError) as refused:
        read_payroll(b"a" * (50 * 1024 * 1024))
    assert refused.value.code == "too_big" and refused.value.params["limit_mb"] == MAX_PAYROLL_BYTES // 2**20


def test_a_spreadsheet_with_formulas_and_merged_cells(region):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["2026年11月工资表"])
    sheet.merge_cells("A1:F1")  # a title above the header: harmless
    sheet.append(["姓名", "身份证号码", "入职日期", "应发工资", "申报基数", "是否参保"])
    sheet.append(["张三", person(1), date(2025, 1, 1), 8000, 8000, "是"])
    sheet.append(["李四", person(2), date(2025, 1, 1), 9000, "=D4*0.5", "是"])  # no saved result
    sheet.append(["王五", person(3), date(2025, 1, 1), 7000, 7000, "是"])
    sheet.append([None, person(4), date(2025, 1, 1), 7000, 7000, "是"])
    sheet.merge_cells("E5:E6")  # one base for two rows
    buffer = io.BytesIO()
    workbook.save(buffer)
    payroll = read_payroll(buffer.getvalue())
    assert (payroll.merged_ranges, payroll.formulas_without_value) == (1, 1)
    report = PayrollChecker(region, TODAY).check(payroll)
    # The formula's cell is empty: said so, not guessed.
    assert [(f.row, f.kind.value, f.detail) for f in report.findings] == [
        (4, "bad_value", "declared_base:empty")
    ]
    # Rows 5 and 6 share the merged base of 7,000 on a wage of 7,000: nothing to report.
    summary = summary_text(report, Translator("zh_Hans"), "zh_Hans")
    assert "合并单元格" in summary and "公式" in summary


def test_negative_and_text_wages_are_row_problems_not_crashes(region):
    rows = [
        ["张三", person(1), "2025-01-01", "-8000", "abc", "也许"],
        ["李四", person(2), "下周", "8000", "8000", "是"],
    ]
    report = _check(csv_bytes(rows), region)
    details = sorted(f.detail for f in report.findings)
    assert details == [
        "declared_base:not_a_number",
        "insured:not_yes_no",
        "start_date:not_a_date",
        "wage:negative",
    ]


def test_the_returned_file_masks_every_id_number(region):
    rows, expected = known_rows(TODAY)
    report = _check(csv_bytes(rows), region)
    for kind in ("csv", "xlsx"):
        file = findings_file(report, Translator("zh_Hans"), kind)
        if kind == "csv":
            content = file.data.decode("utf-8-sig")
            table = list(csv.reader(io.StringIO(content)))
            assert table[0][:4] == ["行号", "姓名", "身份证号码（已打码）", "问题"]
            assert len(table) == len(report.findings) + 1
        else:
            from openpyxl import load_workbook

            sheet = load_workbook(io.BytesIO(file.data)).active
            content = "\n".join(str(cell) for row in sheet.iter_rows(values_only=True) for cell in row)
        for number in all_ids(rows):
            assert number not in content
        assert all(item.masked_id in content for item in expected)


def test_names_that_look_like_formulas_are_defused(region):
    rows = [['=HYPERLINK("x")', person(1), "2025-01-01", "9000", "6000", "是"]]
    file = findings_file(_check(csv_bytes(rows), region), Translator("en"), "csv")
    assert "'=HYPERLINK" in file.data.decode("utf-8-sig")


async def test_service_refuses_a_file_records_the_error_and_logs_no_id(service, uow_factory, caplog):
    caplog.set_level(logging.DEBUG)
    rows, _ = known_rows(service.today())
    outcome = await service.check_payroll(
        csv_bytes(rows), file_name="工资.csv", chat_id=5, language="zh_Hans"
    )
    assert not outcome.refused and outcome.file is not None and outcome.file.name.endswith(".csv")
    assert "超过30日未参保：1 人" in outcome.text and "示例" in outcome.text
    refused = await service.check_payroll(
        "姓名,工资\n张三,1\n".encode(), file_name="x.csv", chat_id=5, language="en"
    )
    assert refused.refused and "missing these columns" in refused.text
    await service.refuse_file(5, "too_big", 50 * 1024 * 1024, "big.xlsx")
    async with uow_factory() as uow:
        records = (
            (await uow.session.execute(select(ErrorRecord).where(ErrorRecord.source == "payroll")))
            .scalars()
            .all()
        )
    assert [(r.code, r.chat_id) for r in records] == [("missing_columns", 5), ("too_big", 5)]
    assert records[1].context == {"size": 50 * 1024 * 1024, "extension": ".xlsx"}
    stored = " ".join(f"{r.detail} {r.context}" for r in records)
    for number in all_ids(rows):
        assert number not in caplog.text and number not in stored
