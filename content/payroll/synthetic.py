"""Made-up payrolls for the benchmark and the tests: valid check characters, made-up people,
and a known share of rows with problems."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta

from kernel.idnumber import check_character

HEADER = ["姓名", "身份证号码", "入职日期", "应发工资", "申报基数", "是否参保"]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"


def synthetic_id(index: int, birth: date, region: str = "110105") -> str:
    first17 = f"{region}{birth:%Y%m%d}{index % 1000:03d}"
    return first17 + check_character(first17)


def synthetic_payroll_rows(count: int, *, today: date, seed: int = 7) -> list[list[str]]:
    """`count` rows: most correct; about 5 % not insured, 5 % with a base below the wage."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        birth = date(1970, 1, 1) + timedelta(days=index // 1000 + rng.randint(0, 9000))
        number = synthetic_id(index, birth, region=f"11{(index // 1000) % 90 + 1:02d}05")
        start = today - timedelta(days=rng.randint(40, 3000))
        wage = rng.randint(40, 400) * 100
        roll = rng.random()
        insured = "否" if roll < 0.05 else "是"
        base = min(max(wage, 6000), 30000)
        if 0.05 <= roll < 0.10:
            base = max(1000, base - 2000)
        name = rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN)
        rows.append([name, number, start.isoformat(), str(wage), str(base), insured])
    return rows


def synthetic_payroll_csv(count: int, *, today: date, seed: int = 7) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(synthetic_payroll_rows(count, today=today, seed=seed))
    return buffer.getvalue().encode("utf-8")


def synthetic_payroll_xlsx(count: int, *, today: date, seed: int = 7) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("工资表")
    sheet.append(HEADER)
    for row in synthetic_payroll_rows(count, today=today, seed=seed):
        sheet.append([*row[:3], int(row[3]), int(row[4]), row[5]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
