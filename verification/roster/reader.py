"""Reading a roster file (CSV or XLSX) into raw rows, one at a time.

Everything that makes the file as a whole unusable (unknown format, wrong header, no rows,
undecodable text) is found when the file is opened, before anything is written, and is
raised as `RosterFileError`. Rows are then streamed, so a 100,000-row roster is never held
in memory at once.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import itertools
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import IO, Any

from verification.roster.messages import Language, reason_text


class RosterField(StrEnum):
    NAME = "name"
    ID_NUMBER = "id_number"
    PENSION_REGION = "pension_region"
    RESIDENCE_REGION = "residence_region"
    PENSION_START = "pension_start"
    LAST_CERTIFIED_ON = "last_certified_on"
    PHONE = "phone"
    REFERENCE_PHOTO = "reference_photo"
    MONTHLY_PENSION = "monthly_pension"  # yuan, as written ("3250.50"); kept as whole fen


REQUIRED_FIELDS: tuple[StrEnum, ...] = (
    RosterField.NAME,
    RosterField.ID_NUMBER,
    RosterField.PENSION_REGION,
    RosterField.RESIDENCE_REGION,
    RosterField.PENSION_START,
)

# Titles shown to staff when a column is missing: Chinese first, as agencies write them.
FIELD_TITLES: dict[StrEnum, str] = {
    RosterField.NAME: "姓名/name",
    RosterField.ID_NUMBER: "身份证号码/id_number",
    RosterField.PENSION_REGION: "参保地/pension_region",
    RosterField.RESIDENCE_REGION: "居住地/residence_region",
    RosterField.PENSION_START: "退休日期/pension_start",
    RosterField.LAST_CERTIFIED_ON: "上次认证日期/last_certified_on",
    RosterField.PHONE: "手机号/phone",
    RosterField.REFERENCE_PHOTO: "参考照片/reference_photo",
    RosterField.MONTHLY_PENSION: "月养老金/monthly_pension",
}

_ALIASES: dict[StrEnum, tuple[str, ...]] = {
    RosterField.NAME: ("姓名", "名字", "name", "fullname"),
    RosterField.ID_NUMBER: (
        "身份证号码",
        "身份证号",
        "身份证",
        "公民身份号码",
        "居民身份证号码",
        "idnumber",
        "idno",
        "idcard",
    ),
    RosterField.PENSION_REGION: (
        "参保地",
        "养老金发放地",
        "发放地",
        "参保地区划代码",
        "参保地代码",
        "pensionregion",
    ),
    RosterField.RESIDENCE_REGION: (
        "居住地",
        "现居住地",
        "居住地区划代码",
        "居住地代码",
        "residenceregion",
    ),
    RosterField.PENSION_START: (
        "退休日期",
        "开始领取日期",
        "领取日期",
        "待遇开始日期",
        "pensionstart",
        "pensionstartdate",
    ),
    RosterField.LAST_CERTIFIED_ON: (
        "上次认证日期",
        "最近认证日期",
        "认证日期",
        "lastcertifiedon",
        "lastcertified",
        "lastcertification",
    ),
    RosterField.PHONE: ("手机号", "手机号码", "手机", "联系电话", "电话", "phone", "mobile"),
    RosterField.REFERENCE_PHOTO: ("参考照片", "照片", "照片路径", "referencephoto", "photo"),
    RosterField.MONTHLY_PENSION: (
        "月养老金",
        "月养老金额",
        "养老金月额",
        "月领取金额",
        "基本养老金",
        "每月养老金",
        "月发放金额",
        "养老金月发放额",
        "monthlypension",
        "monthlypensionyuan",
        "pensionamount",
    ),
}

# Spaces, underscores, dashes, colons and remarks in brackets ("参保地（区划代码）",
# "phone (optional)") vary between agencies' templates.
_HEADER_REMARK = re.compile(r"[(（\[【].*?[)）\]】]")
_HEADER_NOISE = re.compile(r"[\s_\-()（）:：*＊\ufeff]+")


def normalise_header(title: str) -> str:
    return _HEADER_NOISE.sub("", _HEADER_REMARK.sub("", title)).lower()


@dataclass(frozen=True)
class SheetLayout:
    """The columns a kind of file has: the roster, or a life-signal feed. Fields are the
    members of a StrEnum; `aliases` are the column titles agencies write for each."""

    required: tuple[StrEnum, ...]
    titles: Mapping[StrEnum, str]
    aliases: Mapping[StrEnum, tuple[str, ...]]

    @cached_property
    def by_header(self) -> dict[str, StrEnum]:
        return {normalise_header(alias): f for f, aliases in self.aliases.items() for alias in aliases}


ROSTER_LAYOUT = SheetLayout(REQUIRED_FIELDS, FIELD_TITLES, _ALIASES)

CellValue = str | int | float | date | datetime | None


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row as the file holds it. `number` is the row number the spreadsheet shows."""

    number: int
    cells: dict[StrEnum, CellValue]  # RosterField (or another layout's fields) -> cell

    def __repr__(self) -> str:  # cells hold an ID number: never print them by accident
        return f"RawRow(number={self.number}, <{len(self.cells)} cells hidden>)"


class RosterFileError(Exception):
    """The file as a whole cannot be imported; nothing was written."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(self.message("en"))

    def message(self, language: Language = "en") -> str:
        return reason_text(self.code, language, **self.params)

    # Crosses from the reader process to the importing one intact.
    def __reduce__(self) -> tuple[Callable[..., RosterFileError], tuple[str, dict[str, object]]]:
        return (_rebuild_file_error, (self.code, self.params))


def _rebuild_file_error(code: str, params: dict[str, object]) -> RosterFileError:
    return RosterFileError(code, **params)


@dataclass
class RosterReader:
    """An opened roster: the header is known and at least one data row exists."""

    file_sha256: str
    columns: dict[StrEnum, str]  # field -> the column title as the file writes it
    ignored_columns: list[str]
    estimated_rows: int | None
    _rows: Iterator[RawRow]
    _closers: list[Any] = field(default_factory=list)

    def rows(self) -> Iterator[RawRow]:
        return self._rows

    def close(self) -> None:
        for closer in self._closers:
            closer.close()
        self._closers.clear()

    def __enter__(self) -> RosterReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class RosterSource:
    """A roster file on disk (or another file of rows: `layout` says which columns it has).
    The format is recognised from its content, not its name."""

    path: Path
    layout: SheetLayout = ROSTER_LAYOUT

    @property
    def file_name(self) -> str:
        return self.path.name

    @property
    def folder(self) -> Path:
        """Reference photo paths in the roster are relative to this folder."""
        return self.path.parent

    def open(self) -> RosterReader:
        try:
            with self.path.open("rb") as handle:
                magic = handle.read(8)
        except OSError as error:
            raise RosterFileError("file_not_found") from error
        if not magic:
            raise RosterFileError("empty_file")
        if magic.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2 container: Excel 97-2003
            raise RosterFileError("old_xls_format")
        if magic.startswith(b"PK\x03\x04"):
            return _open_xlsx(self.path, self.layout)
        return _open_csv(self.path, self.layout)


# ---------------------------------------------------------------- header


def _map_header(
    titles: list[CellValue], layout: SheetLayout
) -> tuple[dict[int, StrEnum], dict[StrEnum, str], list[str]]:
    """Column index -> field; refuses a header lacking required columns or repeating one."""
    by_index: dict[int, StrEnum] = {}
    labels: dict[StrEnum, str] = {}
    ignored: list[str] = []
    found: list[str] = []
    for index, title in enumerate(titles):
        text = "" if title is None else str(title).strip().lstrip("\ufeff")
        if not text:
            continue
        found.append(text)
        roster_field = layout.by_header.get(normalise_header(text))
        if roster_field is None:
            ignored.append(text)
            continue
        if roster_field in labels:
            raise RosterFileError("duplicate_column", detail=f"{labels[roster_field]}, {text}")
        by_index[index] = roster_field
        labels[roster_field] = text
    missing = [layout.titles[f] for f in layout.required if f not in labels]
    if missing:
        raise RosterFileError(
            "bad_header",
            missing=", ".join(missing),
            found=", ".join(found) if found else "(nothing)",
        )
    return by_index, labels, ignored


def _is_blank(values: Sequence[CellValue]) -> bool:
    return all(value is None or (isinstance(value, str) and not value.strip()) for value in values)


def _raw_rows(
    records: Iterator[tuple[int, Sequence[CellValue]]], by_index: dict[int, StrEnum]
) -> Iterator[RawRow]:
    indexes = list(by_index)
    fields = list(by_index.values())
    width = max(indexes) + 1
    for number, values in records:
        # Blank rows between blocks are common in hand-kept sheets. A CSV row is all text,
        # so joining it is the quick test; XLSX rows (numbers, dates) take the slow one.
        try:
            blank = not "".join(values).strip()  # type: ignore[arg-type]
        except TypeError:
            blank = _is_blank(values)
        if blank:
            continue
        if len(values) < width:  # a short row: the missing cells are empty
            values = [*values, *([None] * (width - len(values)))]
        cells = dict(zip(fields, [values[index] for index in indexes], strict=True))
        yield RawRow(number=number, cells=cells)


def _first_row_or_refuse(rows: Iterator[RawRow]) -> Iterator[RawRow]:
    """Checks now that there is a data row, so an empty roster is refused before any write."""
    first = next(rows, None)
    if first is None:
        raise RosterFileError("no_data_rows")
    return itertools.chain([first], rows)


# ---------------------------------------------------------------- CSV


def _scan(path: Path) -> tuple[str, int, str | None]:
    """One pass over the bytes: sha256, line count (for the progress bar) and the encoding.

    The encoding is settled on the whole file before any row is imported: a GBK character
    on row 90,000 must not stop an import half-way.
    """
    digest = hashlib.sha256()
    lines = 0
    head = b""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = True
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            head = head or chunk[:4]
            digest.update(chunk)
            lines += chunk.count(b"\n")
            if utf8_ok:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    utf8_ok = False
    if utf8_ok:
        try:
            utf8.decode(b"", final=True)  # a file cut inside a character
        except UnicodeDecodeError:
            utf8_ok = False
    encoding: str | None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"  # Excel's "Unicode text" export: trust the byte-order mark
    elif utf8_ok:
        encoding = "utf-8-sig"  # also reads files without a BOM
    elif _decodes_whole(path, "gb18030"):
        # GB18030 is a superset of GBK and GB2312, which Chinese Excel writes by default.
        encoding = "gb18030"
    else:
        encoding = None
    return digest.hexdigest(), lines, encoding


def _decodes_whole(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _sniff_delimiter(first_line: str) -> str:
    # Excel writes ',' for CSV and tabs for "Unicode text"; some locales use ';'.
    counts = {delimiter: first_line.count(delimiter) for delimiter in (",", "\t", ";")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _open_csv(path: Path, layout: SheetLayout) -> RosterReader:
    sha256, lines, encoding = _scan(path)
    if encoding is None:
        raise RosterFileError("unknown_encoding")
    handle: IO[str] = path.open("r", encoding=encoding, newline="")
    try:
        header_row = 1
        first_line = handle.readline()
        while first_line and not first_line.strip():  # blank lines above the header
            header_row += 1
            first_line = handle.readline()
        if not first_line:
            raise RosterFileError("empty_file")
        reader = csv.reader(itertools.chain([first_line], handle), delimiter=_sniff_delimiter(first_line))
        by_index, labels, ignored = _map_header(list(next(reader)), layout)
        # csv.reader.line_num counts physical lines (a quoted cell may hold a line break);
        # the spreadsheet shows records, so each record after the header is the next row.
        records = enumerate(reader, start=header_row + 1)
        rows = _first_row_or_refuse(_raw_rows(records, by_index))
    except csv.Error as error:
        handle.close()
        raise RosterFileError("unreadable_file", detail=str(error)) from error
    except BaseException:
        handle.close()
        raise
    return RosterReader(
        file_sha256=sha256,
        columns=labels,
        ignored_columns=ignored,
        estimated_rows=max(lines - header_row, 1),
        _rows=rows,
        _closers=[handle],
    )


# ---------------------------------------------------------------- XLSX


def _open_xlsx(path: Path, layout: SheetLayout) -> RosterReader:
    # Imported here: the CSV path, the common one, does not pay for loading openpyxl.
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    try:
        # read_only streams the sheet XML; data_only gives formulas' cached values.
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as error:
        raise RosterFileError("unreadable_file", detail=type(error).__name__) from error
    try:
        if not workbook.worksheets:
            raise RosterFileError("empty_file")
        sheet = workbook.worksheets[0]
        declared_rows = sheet.max_row
        # Some programs write a wrong <dimension>; without this openpyxl would cut columns off.
        sheet.reset_dimensions()
        records = enumerate(sheet.iter_rows(values_only=True), start=1)
        header: tuple[CellValue, ...] | None = None
        for _number, values in records:
            if not _is_blank(values):
                header = values
                break
        if header is None:
            raise RosterFileError("empty_file")
        by_index, labels, ignored = _map_header(list(header), layout)
        rows = _first_row_or_refuse(_raw_rows(records, by_index))
    except BaseException:
        workbook.close()
        raise
    return RosterReader(
        file_sha256=digest.hexdigest(),
        columns=labels,
        ignored_columns=ignored,
        estimated_rows=(declared_rows - 1) if declared_rows and declared_rows > 1 else None,
        _rows=rows,
        _closers=[workbook],
    )
