"""Lists for the payment agency over a date range: certified, due, suspended, and resumed
(with the months of back pay), as CSV or XLSX. Retirees appear by roster id, name and the
keyed hash of the ID number; cells that a spreadsheet would run as a formula are quoted."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from storage.models import Retiree
from storage.uow import UnitOfWorkFactory

KINDS = ("certified", "due", "suspended", "resumed")
PERSON = ["retiree_id", "name", "id_number_hash", "pension_region", "residence_region"]
HEADERS = {
    "certified": [*PERSON, "certified_on", "method", "valid_until"],
    "due": [*PERSON, "due_on", "payment_state"],
    "suspended": [*PERSON, "suspended_on", "reason"],
    "resumed": [*PERSON, "suspended_on", "resumed_on", "back_pay_months"],
}


def _person(retiree: Retiree) -> list[Any]:
    return [
        retiree.id,
        retiree.name,
        retiree.id_number_hash,
        retiree.pension_region,
        retiree.residence_region,
    ]


async def export_rows(
    uow_factory: UnitOfWorkFactory, kind: str, date_from: date, date_to: date
) -> list[list[Any]]:
    """The header row, then one row per entry in [date_from, date_to], oldest first."""
    if kind not in KINDS:
        raise ValueError(f"unknown export kind {kind!r}")
    rows: list[list[Any]] = [HEADERS[kind]]
    async with uow_factory() as uow:
        if kind == "certified":
            for retiree, cert in await uow.exports.certified_between(date_from, date_to):
                rows.append([*_person(retiree), cert.certified_on, cert.method, cert.valid_until])
        elif kind == "due":
            for retiree in await uow.exports.due_between(date_from, date_to):
                rows.append([*_person(retiree), retiree.due_on, retiree.payment_state])
        else:
            found = await uow.exports.suspensions_between(date_from, date_to, resumed=kind == "resumed")
            for retiree, suspension in found:
                if kind == "suspended":
                    rows.append([*_person(retiree), suspension.suspended_on, suspension.reason])
                else:
                    months = " ".join(suspension.back_pay_months or [])
                    rows.append([*_person(retiree), suspension.suspended_on, suspension.resumed_on, months])
    return rows


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_csv(rows: list[list[Any]], path: Path) -> None:
    # UTF-8 with a byte-order mark, so that Excel opens the Chinese names correctly.
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        csv.writer(handle).writerows([[_cell(v) for v in row] for row in rows])


def write_xlsx(rows: list[list[Any]], path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("export")
    for row in rows:
        sheet.append([_cell(v) for v in row])
    book.save(path)
