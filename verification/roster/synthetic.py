"""SYNTHETIC roster data for tests and benchmarks: made-up people with ID numbers that pass
the check-digit rule. Never used to accept or complete real input.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from kernel.idnumber import check_character

# Real county-level codes (so the province prefix is valid), from a few provinces.
SYNTHETIC_REGIONS: tuple[str, ...] = (
    "110101",
    "110105",
    "110108",
    "310104",
    "310115",
    "320102",
    "330106",
    "370102",
    "410105",
    "420106",
    "440106",
    "440305",
    "510107",
    "610113",
    "120101",
    "210102",
)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
_GIVEN = "秀英桂兰玉珍凤芳淑华建国德明志强文军永福海金荣春梅丽红平伟"

ROSTER_HEADER_ZH: tuple[str, ...] = (
    "姓名",
    "身份证号码",
    "参保地",
    "居住地",
    "退休日期",
    "上次认证日期",
    "手机号",
    "参考照片",
)


def synthetic_id_number(region: str, birth: date, sequence: int) -> str:
    """An ID number with a correct check character, for a made-up person.

    `sequence` is 0-999; odd is male, even is female (GB 11643-1999).
    """
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def synthetic_people(count: int, *, today: date, seed: int = 1) -> Iterator[dict[str, str]]:
    """`count` distinct made-up retirees as roster cells (Chinese column titles as keys)."""
    rng = random.Random(seed)
    used: set[str] = set()
    while len(used) < count:
        region = rng.choice(SYNTHETIC_REGIONS)
        age_days = rng.randint(61 * 366, 95 * 365)
        birth = today - timedelta(days=age_days)
        id_number = synthetic_id_number(region, birth, rng.randint(0, 999))
        if id_number in used:
            continue
        used.add(id_number)
        pension_start = min(birth.replace(year=birth.year + 60, day=min(birth.day, 28)), today)
        last = pension_start + timedelta(days=rng.randint(0, max((today - pension_start).days, 0)))
        yield {
            "姓名": rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.randint(1, 2))),
            "身份证号码": id_number,
            "参保地": region,
            "居住地": rng.choice(SYNTHETIC_REGIONS),
            "退休日期": pension_start.isoformat(),
            "上次认证日期": last.isoformat() if rng.random() < 0.8 else "",
            "手机号": f"1{rng.randint(3, 9)}{rng.randint(0, 999_999_999):09d}" if rng.random() < 0.7 else "",
            "参考照片": "",
        }


def write_synthetic_roster_csv(
    path: Path, count: int, *, today: date, seed: int = 1, encoding: str = "utf-8-sig"
) -> Path:
    """A CSV roster of `count` made-up retirees, as an agency's Excel export would look."""
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ROSTER_HEADER_ZH)
        writer.writeheader()
        writer.writerows(synthetic_people(count, today=today, seed=seed))
    return path
