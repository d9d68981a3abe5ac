"""Checking one roster row: from the cells as the file holds them to a typed record.

Pure functions of the row, `today` and the roster's folder (for reference photos): no
database, no network, so they are cheap to test and safe to run in a worker thread.
Every problem in a row is reported, not only the first, so staff fix a row in one go.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path

from kernel.idnumber import InvalidIdNumber, ValidIdNumber, check_id_number, is_valid_region_code
from verification.roster.messages import Language, reason_text
from verification.roster.reader import FIELD_TITLES, CellValue, RawRow, RosterField

MIN_PENSION_AGE = 40  # no one draws an old-age pension before 40; earlier dates are typos
_MAX_NAME_LENGTH = 100  # the width of retirees.name

_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"  # "2010-01-05 00:00:00" from exports
)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_PHONE_SEPARATORS = re.compile(r"[\s\-()（）]")
_SPACES = re.compile(r"\s+")
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:")
_CJK_NAME = re.compile(r"[\u3400-\u9fff\uf900-\ufaff·•．.\s]+")
# A monthly pension above this (100,000 yuan) is a typo (fen typed as yuan, a digit too many).
MAX_MONTHLY_PENSION_FEN = 100_000 * 100
_AMOUNT = re.compile(r"\d+(?:\.\d+)?")
_GROUPED_AMOUNT = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")  # "3,250.50"
_AMOUNT_SIGN = re.compile(r"^[¥￥]|元$")


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A refused row (or a warning about an imported one): row number and reason code."""

    row: int
    code: str
    column: str | None = None  # the column title as the file writes it
    first_row: int | None = None  # for duplicates: where the number appeared first

    def message(self, language: Language = "en") -> str:
        return reason_text(self.code, language, column=self.column or "", first_row=self.first_row or "")

    def context(self) -> dict[str, object]:
        """What an error record keeps: numbers and codes only, never a cell's content."""
        context: dict[str, object] = {"row": self.row}
        if self.column:
            context["column"] = self.column
        if self.first_row:
            context["first_row"] = self.first_row
        return context


@dataclass(frozen=True, slots=True)
class RefusedRow:
    """A row that is not imported, with every reason found in it (the first is the main one)."""

    row: int
    problems: tuple[RowProblem, ...]

    @property
    def code(self) -> str:
        return self.problems[0].code

    @property
    def codes(self) -> list[str]:
        return [problem.code for problem in self.problems]

    def message(self, language: Language = "en") -> str:
        return " ".join(problem.message(language) for problem in self.problems)

    def context(self) -> dict[str, object]:
        context = self.problems[0].context()
        if len(self.problems) > 1:
            context["codes"] = self.codes
        return context


@dataclass(slots=True)  # not frozen: a frozen __init__ costs a microsecond per row
class RosterRecord:
    """A row that passed every check, normalised and typed."""

    row: int
    id_number: ValidIdNumber
    name: str
    pension_region: str
    residence_region: str
    pension_start: date
    last_certified_on: date | None
    phone: str | None
    reference_photo: str | None  # absolute path of an existing file inside the roster folder
    monthly_pension_fen: int | None = None  # whole fen; None when the column is absent or empty
    warnings: tuple[RowProblem, ...] = field(default=())

    def __repr__(self) -> str:  # personal data must not reach logs through a repr
        return f"RosterRecord(row={self.row}, <personal data hidden>)"


class RowValidator:
    """Checks rows of one roster. Written for speed as well as clarity: a 100,000-row roster
    passes through here, so the common case (clean text cells) takes the shortest path."""

    def __init__(self, *, today: date, photo_folder: Path, columns: Mapping[StrEnum, str]) -> None:
        self._today = today
        self._photo_folder = photo_folder.resolve()
        self._titles = {f: columns.get(f, FIELD_TITLES[f]) for f in RosterField}

    def check(self, raw: RawRow) -> RosterRecord | RefusedRow:
        """The typed record, or every problem found in the row."""
        cells = raw.cells
        row = raw.number
        titles = self._titles
        problems: list[RowProblem] = []

        name = _name(cells.get(RosterField.NAME))
        if not name:
            code = "missing_value" if name is None else "bad_name"
            problems.append(RowProblem(row, code, titles[RosterField.NAME]))

        id_number = self._id_number(row, cells.get(RosterField.ID_NUMBER), problems)

        pension_region = self._region(
            row, cells.get(RosterField.PENSION_REGION), RosterField.PENSION_REGION, problems
        )
        residence_region = self._region(
            row, cells.get(RosterField.RESIDENCE_REGION), RosterField.RESIDENCE_REGION, problems
        )

        pension_start = self._date(
            row, cells.get(RosterField.PENSION_START), RosterField.PENSION_START, problems, required=True
        )
        if pension_start is not None:
            if pension_start > self._today:
                problems.append(RowProblem(row, "pension_start_in_future", titles[RosterField.PENSION_START]))
            elif id_number is not None and pension_start < _add_years(id_number.birth_date, MIN_PENSION_AGE):
                problems.append(RowProblem(row, "pension_start_too_early", titles[RosterField.PENSION_START]))

        last_certified = self._date(
            row,
            cells.get(RosterField.LAST_CERTIFIED_ON),
            RosterField.LAST_CERTIFIED_ON,
            problems,
            required=False,
        )
        if last_certified is not None:
            title = titles[RosterField.LAST_CERTIFIED_ON]
            if last_certified > self._today:
                problems.append(RowProblem(row, "last_certified_in_future", title))
            elif pension_start is not None and last_certified < pension_start:
                problems.append(RowProblem(row, "last_certified_before_pension_start", title))

        phone: str | None = None
        phone_cell = cells.get(RosterField.PHONE)
        if not _is_empty(phone_cell):
            phone = _mobile(phone_cell)
            if phone is None:
                problems.append(RowProblem(row, "bad_phone", titles[RosterField.PHONE]))

        monthly_pension_fen: int | None = None
        amount_cell = cells.get(RosterField.MONTHLY_PENSION)
        if not _is_empty(amount_cell):
            amount = pension_fen(amount_cell)
            if isinstance(amount, str):
                problems.append(RowProblem(row, amount, titles[RosterField.MONTHLY_PENSION]))
            else:
                monthly_pension_fen = amount

        if problems:
            return RefusedRow(row, tuple(problems))
        # No problems means each required value was read; the asserts tell the type checker.
        assert name and id_number and pension_region and residence_region and pension_start
        photo, warnings = self._photo(row, cells.get(RosterField.REFERENCE_PHOTO))
        return RosterRecord(
            row=row,
            id_number=id_number,
            name=name,
            pension_region=pension_region,
            residence_region=residence_region,
            pension_start=pension_start,
            last_certified_on=last_certified,
            phone=phone,
            reference_photo=photo,
            monthly_pension_fen=monthly_pension_fen,
            warnings=warnings,
        )

    def _id_number(self, row: int, cell: CellValue, problems: list[RowProblem]) -> ValidIdNumber | None:
        title = self._titles[RosterField.ID_NUMBER]
        if _is_empty(cell):
            problems.append(RowProblem(row, "missing_value", title))
            return None
        if isinstance(cell, int | float):
            # Excel keeps 15 significant digits: an 18-digit number typed into a General
            # cell has already lost its tail, so guessing it back would link the wrong person.
            problems.append(RowProblem(row, "id_number_not_text", title))
            return None
        # NFKC turns full-width digits and Ｘ (typed in a Chinese input method) into ASCII.
        checked = check_id_number(_folded(cell), today=self._today)
        if isinstance(checked, InvalidIdNumber):
            problems.append(RowProblem(row, checked.reason.value, title))
            return None
        return checked

    def _region(
        self, row: int, cell: CellValue, roster_field: RosterField, problems: list[RowProblem]
    ) -> str | None:
        if _is_empty(cell):
            problems.append(RowProblem(row, "missing_value", self._titles[roster_field]))
            return None
        code = _code_text(cell)
        if is_valid_region_code(code):
            return code
        problems.append(RowProblem(row, "bad_region_code", self._titles[roster_field]))
        return None

    def _date(
        self,
        row: int,
        cell: CellValue,
        roster_field: RosterField,
        problems: list[RowProblem],
        *,
        required: bool,
    ) -> date | None:
        if _is_empty(cell):
            if required:
                problems.append(RowProblem(row, "missing_value", self._titles[roster_field]))
            return None
        parsed = parse_date(cell)
        if parsed is None:
            problems.append(RowProblem(row, "bad_date", self._titles[roster_field]))
        return parsed

    def _photo(self, row: int, cell: CellValue) -> tuple[str | None, tuple[RowProblem, ...]]:
        if _is_empty(cell):
            return None, ()
        title = self._titles[RosterField.REFERENCE_PHOTO]
        # Rosters are made on Windows: accept backslashes as separators.
        relative = _text(cell).replace("\\", "/")
        candidate = Path(relative)
        if candidate.is_absolute() or _WINDOWS_DRIVE.match(relative):
            return None, (RowProblem(row, "photo_outside_folder", title),)
        # resolve() follows symbolic links too, so a link pointing elsewhere is caught here.
        resolved = (self._photo_folder / candidate).resolve()
        if not resolved.is_relative_to(self._photo_folder):
            return None, (RowProblem(row, "photo_outside_folder", title),)
        if not resolved.is_file():
            return None, (RowProblem(row, "photo_missing", title),)
        return str(resolved), ()


def parse_date(cell: CellValue) -> date | None:
    """A date from an Excel date cell, YYYY-MM-DD, YYYY/MM/DD (month and day may be one
    digit, as Excel exports them), YYYYMMDD or 2010年1月5日; None when it is not a date."""
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, float):
        if not cell.is_integer():
            return None
        cell = int(cell)
    text = str(cell).strip()
    if len(text) == 10 and text[4] == "-":
        try:  # the common YYYY-MM-DD, far cheaper than the regular expression
            return date.fromisoformat(text)
        except ValueError:
            pass
    match = _DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def pension_fen(cell: CellValue) -> int | str:
    """A monthly pension written in yuan ("3250.50", "3,250.5", "3250", ¥3250 元, or a number
    cell) as whole fen, counted with Decimal (a float is never multiplied); or the reason code
    when it is not an amount: bad_pension_amount, pension_amount_not_positive,
    pension_amount_too_precise (more than 2 decimals), pension_amount_too_large."""
    if isinstance(cell, bool) or isinstance(cell, date):  # a date cell in the amount column
        return "bad_pension_amount"
    if isinstance(cell, int):
        value = Decimal(cell)
    elif isinstance(cell, float):
        # repr gives the shortest text that reads back as the same float: what was typed.
        try:
            value = Decimal(repr(cell))
        except InvalidOperation:
            return "bad_pension_amount"
    else:
        text = _AMOUNT_SIGN.sub("", _folded(cell)).strip()
        negative = text.startswith("-")
        if negative:
            text = text[1:].strip()
        if _GROUPED_AMOUNT.fullmatch(text):
            text = text.replace(",", "")
        if not _AMOUNT.fullmatch(text):
            return "bad_pension_amount"
        value = -Decimal(text) if negative else Decimal(text)
    if not value.is_finite():
        return "bad_pension_amount"
    if value <= 0:
        return "pension_amount_not_positive"
    fen = value * 100
    if fen != fen.to_integral_value():
        return "pension_amount_too_precise"
    if fen > MAX_MONTHLY_PENSION_FEN:
        return "pension_amount_too_large"
    return int(fen)


def _is_empty(cell: CellValue) -> bool:
    return cell is None or (type(cell) is str and (not cell or cell.isspace()))


def _text(cell: CellValue) -> str:
    return str(cell).strip()


def _folded(cell: CellValue) -> str:
    text = _text(cell)
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _code_text(cell: CellValue) -> str:
    """Region codes typed into a number cell arrive as 110105 or 110105.0."""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return _folded(cell)


def _name(cell: CellValue) -> str | None:
    """None when empty; '' when unusable; else the name with spacing tidied."""
    if _is_empty(cell):
        return None
    name = unicodedata.normalize("NFC", _text(cell))
    if not name.isprintable() or "  " in name:  # any whitespace other than single spaces
        name = _SPACES.sub(" ", name)
    # Chinese registers pad two-character names for alignment ("王  五"): drop such spaces,
    # but keep them in names written in Latin letters.
    if " " in name and _CJK_NAME.fullmatch(name):
        name = name.replace(" ", "")
    if len(name) > _MAX_NAME_LENGTH or not name.isprintable():  # control or format characters
        return ""
    return name


def _mobile(cell: CellValue) -> str | None:
    if isinstance(cell, float):
        if not cell.is_integer():
            return None
        cell = int(cell)
    digits = _folded(cell)
    if not digits.isdigit():
        digits = _PHONE_SEPARATORS.sub("", digits)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if _MOBILE.fullmatch(digits) else None


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)
