"""Test utilities: made-up people with valid ID numbers, written as CSV or XLSX rosters."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

from verification.roster.synthetic import synthetic_id_number

HEADER_EN = [
    "name",
    "id_number",
    "pension_region",
    "residence_region",
    "pension_start",
    "last_certified_on",
    "phone",
    "reference_photo",
]
HEADER_ZH = ["姓名", "身份证号码", "参保地", "居住地", "退休日期", "上次认证日期", "手机号", "参考照片"]
STANDARD_ID = "11010519491231002X"  # the textbook example of GB 11643-1999


def make_id(index: int, *, region: str = "110105", born: date = date(1950, 3, 1)) -> str:
    """A distinct valid ID number per index (sequence digits vary, then the birth day)."""
    return synthetic_id_number(region, born + timedelta(days=index // 1000), index % 1000)


def person(index: int, **overrides: str) -> dict[str, str]:
    row = {
        "name": f"张秀英{index}",
        "id_number": make_id(index),
        "pension_region": "110105",
        "residence_region": "110108",
        "pension_start": "2010-03-01",
        "last_certified_on": "2024-03-01",
        "phone": f"138{index:08d}",
        "reference_photo": "",
    }
    row.update(overrides)
    return row


def write_csv(
    path: Path, rows: list[dict[str, str]], *, header: list[str] = HEADER_EN, encoding: str = "utf-8"
) -> Path:
    """Rows keyed by the English names; written under `header` (same order as HEADER_EN)."""
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(key, "") for key in HEADER_EN[: len(header)]])
    return path


def write_xlsx(path: Path, rows: list[list[object]], header: list[str]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path
