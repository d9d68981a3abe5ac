"""Payroll files with known findings, relative to a given day, for the self-check tests."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from content.payroll.synthetic import synthetic_id
from kernel.idnumber import mask_id_number

HEADER_ZH = ["姓名", "身份证号码", "入职日期", "应发工资", "申报基数", "是否参保"]
HEADER_EN = ["Employee", "ID number", "Start date", "Gross wage", "Declared base", "Insured"]


def person(index: int) -> str:
    return synthetic_id(index, date(1985, 1, 1) + timedelta(days=index * 37))


def bad_check_character(number: str) -> str:
    last = number[-1]
    return number[:-1] + ("1" if last != "1" else "2")


@dataclass(frozen=True)
class Expected:
    row: int
    kind: str
    masked_id: str


def known_rows(today: date) -> tuple[list[list[str]], list[Expected]]:
    """Rows (without header) and the findings they must produce, against region sample-a
    (floor 6,000, ceiling 30,000)."""
    long_ago = (today - timedelta(days=400)).isoformat()
    rows = [
        ["张三", person(1), long_ago, "8000", "8000", "是"],  # fine
        ["李四", person(2), (today - timedelta(days=90)).isoformat(), "7000", "7000", "否"],
        ["王五", person(3), (today - timedelta(days=5)).isoformat(), "7000", "7000", "否"],
        ["赵六", person(4), long_ago, "9000", "6000", "是"],
        ["钱七", person(5), long_ago, "5000", "4000", "是"],
        ["孙八", person(6), long_ago, "40000", "35000", "是"],
        ["周九", bad_check_character(person(7)), long_ago, "8000", "8000", "是"],
        ["吴十", person(8), long_ago, "-3000", "6000", "是"],
        ["郑十一", person(9), long_ago, "八千", "8000", "是"],
    ]
    expected = [
        Expected(3, "not_registered", mask_id_number(person(2))),
        Expected(4, "register_by", mask_id_number(person(3))),
        Expected(5, "base_below_wage", mask_id_number(person(4))),
        Expected(6, "base_below_floor", mask_id_number(person(5))),
        Expected(7, "base_above_ceiling", mask_id_number(person(6))),
        Expected(8, "invalid_id", mask_id_number(bad_check_character(person(7)))),
        Expected(9, "bad_value", mask_id_number(person(8))),
        Expected(10, "bad_value", mask_id_number(person(9))),
    ]
    return rows, expected


def csv_bytes(rows: list[list[str]], header: list[str] = HEADER_ZH, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]], header: list[str] = HEADER_ZH) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def all_ids(rows: list[list[str]]) -> list[str]:
    return [row[1] for row in rows]
