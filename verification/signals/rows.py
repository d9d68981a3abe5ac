"""A feed's file: its columns, and checking one row (pure: no database).

A feed row names a retiree by ID number and gives a day (the day of the settlement, the
counter visit, the death). The ID number leaves here only as the vault's lookup hash.
Problems are reported like the roster's: a row number and a reason code, never a cell.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from enum import StrEnum
from typing import NamedTuple

from kernel.idnumber import InvalidIdNumber, check_id_number
from storage.protection import PersonalDataVault
from verification.roster.reader import CellValue, RawRow, SheetLayout
from verification.roster.rows import RefusedRow, RowProblem, parse_date

EARLIEST_DAY = date(1900, 1, 1)


class SignalField(StrEnum):
    ID_NUMBER = "id_number"
    DAY = "day"


SIGNAL_TITLES: dict[StrEnum, str] = {
    SignalField.ID_NUMBER: "身份证号码/id_number",
    SignalField.DAY: "日期/date",
}

SIGNAL_LAYOUT = SheetLayout(
    required=(SignalField.ID_NUMBER, SignalField.DAY),
    titles=SIGNAL_TITLES,
    aliases={
        SignalField.ID_NUMBER: ("身份证号码", "身份证号", "公民身份号码", "证件号码", "idnumber", "idno"),
        SignalField.DAY: (
            "日期",
            "发生日期",
            "结算日期",
            "业务日期",
            "办理日期",
            "接种日期",
            "死亡日期",
            "注销日期",
            "火化日期",
            "date",
            "day",
            "observedon",
            "diedon",
            "eventdate",
        ),
    },
)


class SignalRow(NamedTuple):
    """A row that passed the checks of the row alone: whose (keyed hash) and which day.
    A tuple: a million of them cross from the reader process, and tuples unpickle fastest."""

    row: int
    id_hash: str
    day: date


class SignalRowChecker:
    """Checks the rows of one feed. `one_per_person`: a death feed names a person once."""

    def __init__(
        self,
        vault: PersonalDataVault,
        *,
        today: date,
        columns: dict[StrEnum, str],
        one_per_person: bool,
    ) -> None:
        self._vault = vault
        self._today = today
        self._titles = {f: columns.get(f, SIGNAL_TITLES[f]) for f in SignalField}
        self._one_per_person = one_per_person
        self._seen: dict[object, int] = {}  # (hash, day) or hash -> first row

    def check(self, raw: RawRow) -> SignalRow | RefusedRow:
        row = raw.number
        problems: list[RowProblem] = []
        id_hash = self._id_hash(row, raw.cells.get(SignalField.ID_NUMBER), problems)
        day = self._day(row, raw.cells.get(SignalField.DAY), problems)
        if problems:
            return RefusedRow(row, tuple(problems))
        assert id_hash is not None and day is not None
        key: object = id_hash if self._one_per_person else (id_hash, day)
        first = self._seen.setdefault(key, row)
        if first != row:
            return RefusedRow(row, (RowProblem(row, "duplicate_row", first_row=first),))
        return SignalRow(row, id_hash, day)

    def _id_hash(self, row: int, cell: CellValue, problems: list[RowProblem]) -> str | None:
        title = self._titles[SignalField.ID_NUMBER]
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            problems.append(RowProblem(row, "missing_value", title))
            return None
        if isinstance(cell, int | float):  # Excel has cut an 18-digit number to 15 digits
            problems.append(RowProblem(row, "id_number_not_text", title))
            return None
        text = str(cell).strip()
        if not text.isascii():  # full-width digits or Ｘ typed with a Chinese input method
            text = unicodedata.normalize("NFKC", text)
        checked = check_id_number(text, today=self._today)
        if isinstance(checked, InvalidIdNumber):
            problems.append(RowProblem(row, checked.reason.value, title))
            return None
        return self._vault.lookup_hash(checked.number)

    def _day(self, row: int, cell: CellValue, problems: list[RowProblem]) -> date | None:
        title = self._titles[SignalField.DAY]
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            problems.append(RowProblem(row, "missing_value", title))
            return None
        day = parse_date(cell)
        if day is None or day < EARLIEST_DAY:
            problems.append(RowProblem(row, "bad_date", title))
            return None
        if day > self._today:
            problems.append(RowProblem(row, "date_in_future", title))
            return None
        return day
