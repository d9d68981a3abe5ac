"""Reading an uploaded payroll (CSV or XLSX bytes) into rows.

The whole file is refused with a `PayrollFileError` (a stable code and its parameters for
the catalogs, payroll.error.<code>) when it cannot be used: too big, empty, not CSV or
XLSX, an unknown text encoding, the columns missing. Bad cells are not refused here: they
become problems of their row in the check, so one typo does not lose the other rows.

CSV is read as UTF-8 (with or without BOM) or GB18030 (the superset of the GBK that Chinese
Excel writes). In XLSX the first sheet is read with the values Excel saved (a lean
streaming reader; openpyxl when the file is unusual); formulas without a saved result and
merged cells (filled from their top-left cell) are reported.
The header may sit below a title row. Nothing here logs cell values: they hold ID numbers.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MAX_PAYROLL_BYTES = 10 * 1024 * 1024
MAX_PAYROLL_ROWS = 50_000
_HEADER_SEARCH_ROWS = 10


class Column(StrEnum):
    NAME = "name"
    ID_NUMBER = "id_number"
    START_DATE = "start_date"
    WAGE = "wage"
    DECLARED_BASE = "declared_base"
    INSURED = "insured"
    MONTH = "month"


REQUIRED_COLUMNS = (
    Column.NAME,
    Column.ID_NUMBER,
    Column.START_DATE,
    Column.WAGE,
    Column.DECLARED_BASE,
    Column.INSURED,
)

# Titles shown when a column is missing: Chinese first, as clerks write them.
COLUMN_TITLES = {
    Column.NAME: "姓名/name",
    Column.ID_NUMBER: "身份证号码/id_number",
    Column.START_DATE: "入职日期/start_date",
    Column.WAGE: "应发工资/gross_wage",
    Column.DECLARED_BASE: "申报基数/declared_base",
    Column.INSURED: "是否参保/insured",
    Column.MONTH: "月份/month",
}

_ALIASES = {
    Column.NAME: ("姓名", "员工姓名", "职工姓名", "名字", "name", "employee", "employeename", "fullname"),
    Column.ID_NUMBER: (
        "身份证号码",
        "身份证号",
        "身份证",
        "证件号码",
        "公民身份号码",
        "idnumber",
        "idno",
        "idcard",
        "id",
    ),
    Column.START_DATE: (
        "入职日期",
        "入职时间",
        "用工日期",
        "用工之日",
        "到岗日期",
        "startdate",
        "hiredate",
        "datejoined",
        "joined",
        "start",
    ),
    Column.WAGE: (
        "应发工资",
        "应发",
        "工资",
        "月工资",
        "税前工资",
        "工资总额",
        "应发合计",
        "grosswage",
        "grosspay",
        "grosssalary",
        "wage",
        "salary",
    ),
    Column.DECLARED_BASE: (
        "申报基数",
        "缴费基数",
        "社保基数",
        "参保基数",
        "基数",
        "declaredbase",
        "contributionbase",
        "base",
    ),
    Column.INSURED: (
        "是否参保",
        "参保",
        "已参保",
        "参保状态",
        "参保情况",
        "insured",
        "registered",
        "isinsured",
    ),
    Column.MONTH: ("月份", "所属月份", "工资月份", "缴费月份", "所属期", "month", "period", "paymonth"),
}

_HEADER_REMARK = re.compile(r"[(（\[【].*?[)）\]】]")
_HEADER_NOISE = re.compile(r"[\s_\-:：*＊\ufeff./]+")


def normalise_header(title: str) -> str:
    return _HEADER_NOISE.sub("", _HEADER_REMARK.sub("", title)).lower()


HEADER_ALIASES = {
    normalise_header(alias): column for column, aliases in _ALIASES.items() for alias in aliases
}


class PayrollFileError(Exception):
    """The file as a whole cannot be checked; `code` names why (payroll.error.<code>)."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True, slots=True)
class PayrollRow:
    """One data row as the file holds it; `number` is the row number the spreadsheet shows."""

    number: int
    cells: dict[Column, Any]

    def __repr__(self) -> str:  # cells hold an ID number: never print them by accident
        return f"PayrollRow(number={self.number}, <{len(self.cells)} cells hidden>)"


@dataclass
class PayrollFile:
    kind: str  # "csv" or "xlsx"
    columns: dict[Column, str]  # column -> its title in the file
    rows: list[PayrollRow]
    encoding: str | None = None
    merged_ranges: int = 0
    formulas_without_value: int = 0
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def has_months(self) -> bool:
        return Column.MONTH in self.columns


def read_payroll(
    data: bytes, *, max_bytes: int = MAX_PAYROLL_BYTES, max_rows: int = MAX_PAYROLL_ROWS
) -> PayrollFile:
    if len(data) > max_bytes:
        raise PayrollFileError("too_big", limit_mb=max_bytes // (1024 * 1024))
    if not data.strip():
        raise PayrollFileError("empty")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise PayrollFileError("old_xls")
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, max_rows)
    if data.startswith(b"%PDF") or b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PayrollFileError("not_a_table")
    return _read_csv(data, max_rows)


# ---------------------------------------------------------------- header


def _map_header(titles: list[Any]) -> tuple[dict[int, Column], dict[Column, str], list[str]]:
    by_index: dict[int, Column] = {}
    labels: dict[Column, str] = {}
    ignored: list[str] = []
    for index, title in enumerate(titles):
        text = "" if title is None else str(title).strip()
        if not text:
            continue
        column = HEADER_ALIASES.get(normalise_header(text))
        if column is None or column in labels:
            ignored.append(text)
            continue
        by_index[index] = column
        labels[column] = text
    return by_index, labels, ignored


def _find_header(rows: list[list[Any]]) -> tuple[int, dict[int, Column], dict[Column, str], list[str]]:
    """The row (among the first few) that names the most known columns."""
    best: tuple[int, dict[int, Column], dict[Column, str], list[str]] | None = None
    for position, titles in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        by_index, labels, ignored = _map_header(titles)
        if best is None or len(labels) > len(best[2]):
            best = (position, by_index, labels, ignored)
    if best is None or not best[2]:
        found = [str(t).strip() for t in (rows[0] if rows else []) if t is not None and str(t).strip()]
        raise PayrollFileError(
            "missing_columns",
            missing=", ".join(COLUMN_TITLES[c] for c in REQUIRED_COLUMNS),
            found=", ".join(found[:12]) or "—",
        )
    missing = [COLUMN_TITLES[c] for c in REQUIRED_COLUMNS if c not in best[2]]
    if missing:
        raise PayrollFileError(
            "missing_columns", missing=", ".join(missing), found=", ".join(best[2].values()) or "—"
        )
    return best


def _blank(values: list[Any] | tuple[Any, ...]) -> bool:
    return all(value is None or (isinstance(value, str) and not value.strip()) for value in values)


def _rows_from(
    records: Iterator[tuple[int, list[Any]]], by_index: dict[int, Column], max_rows: int
) -> list[PayrollRow]:
    rows: list[PayrollRow] = []
    width = max(by_index) + 1
    for number, values in records:
        if _blank(values):
            continue
        if len(values) < width:
            values = [*values, *([None] * (width - len(values)))]
        rows.append(PayrollRow(number, {column: values[index] for index, column in by_index.items()}))
        if len(rows) > max_rows:
            raise PayrollFileError("too_many_rows", limit=max_rows)
    if not rows:
        raise PayrollFileError("no_rows")
    return rows


# ---------------------------------------------------------------- CSV


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as error:
        raise PayrollFileError("unknown_encoding") from error


def _read_csv(data: bytes, max_rows: int) -> PayrollFile:
    text, encoding = _decode(data)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    counts = {delimiter: first_line.count(delimiter) for delimiter in (",", "\t", ";", "，")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise PayrollFileError("unreadable") from error
    numbered = [(number, row) for number, row in enumerate(records, start=1) if not _blank(row)]
    if not numbered:
        raise PayrollFileError("empty")
    position, by_index, labels, ignored = _find_header([row for _, row in numbered])
    rows = _rows_from(iter(numbered[position + 1 :]), by_index, max_rows)
    return PayrollFile("csv", labels, rows, encoding=encoding, ignored_columns=ignored)


# ---------------------------------------------------------------- XLSX

_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")
_MAX_SHEET_XML_BYTES = 200 * 1024 * 1024  # uncompressed: a zip bomb is refused, not inflated


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + (ord(letter) - 64)
    return index - 1


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _first_sheet_path(archive: zipfile.ZipFile) -> str | None:
    """The path of the workbook's first sheet (the one Excel shows first)."""
    try:
        workbook = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return None
    first = re.search(rb"<(?:\w+:)?sheet\b[^>]*\br:id=\"([^\"]+)\"", workbook)
    if not first:
        return None
    for relation in re.finditer(rb"<(?:\w+:)?Relationship\b[^>]*>", rels):
        tag = relation.group(0)
        if b'Id="' + first.group(1) + b'"' in tag:
            target = re.search(rb'Target="([^"]+)"', tag)
            if target:
                path = target.group(1).decode()
                return path.lstrip("/") if path.startswith("/") else "xl/" + path
    return None


def _read_xlsx(data: bytes, max_rows: int) -> PayrollFile:
    try:
        records, merged, unsaved = _LeanSheet(data, max_rows).read()
    except PayrollFileError:
        raise
    except Exception:  # noqa: BLE001 - an unusual but valid file: let openpyxl try it
        records, merged, unsaved = _openpyxl_records(data, max_rows)
    fill = _merge_filler(merged)
    rows = [(number, filled) for number, values in records if not _blank(filled := fill(number, values))]
    if not rows:
        raise PayrollFileError("empty")
    position, by_index, labels, ignored = _find_header([row for _, row in rows])
    payroll_rows = _rows_from(iter(rows[position + 1 :]), by_index, max_rows)
    header_row = rows[position][0]
    return PayrollFile(
        "xlsx",
        labels,
        payroll_rows,
        # A title merged above the header is harmless; merges among the data are reported.
        merged_ranges=sum(1 for _top, _left, bottom, _right in merged if bottom > header_row),
        formulas_without_value=unsaved,
        ignored_columns=ignored,
    )


class _LeanSheet:
    """The first sheet's cell values, read with the standard library's streaming XML parser.

    openpyxl builds an object per shared string and per cell and takes seconds for a large
    payroll; this reads only what the check needs: values (dates from date-formatted
    numbers), merged ranges and formulas without a saved result."""

    def __init__(self, data: bytes, max_rows: int) -> None:
        self.data = data
        self.max_rows = max_rows

    def read(self) -> tuple[list[tuple[int, list[Any]]], list[tuple[int, int, int, int]], int]:
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

        try:
            archive = zipfile.ZipFile(io.BytesIO(self.data))
        except zipfile.BadZipFile as error:
            raise PayrollFileError("unreadable") from error
        with archive:
            path = _first_sheet_path(archive)
            if path is None:
                raise PayrollFileError("unreadable")
            info = archive.getinfo(path)
            if info.file_size > _MAX_SHEET_XML_BYTES:
                raise PayrollFileError("too_big", limit_mb=MAX_PAYROLL_BYTES // (1024 * 1024))
            workbook = archive.read("xl/workbook.xml")
            self.epoch = (
                CALENDAR_MAC_1904 if re.search(rb'date1904="(1|true)"', workbook) else CALENDAR_WINDOWS_1900
            )
            self.strings = self._shared_strings(archive)
            self.date_styles = self._date_styles(archive)
            with archive.open(path) as handle:
                return self._cells(handle)

    @staticmethod
    def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
        from xml.etree.ElementTree import iterparse

        if "xl/sharedStrings.xml" not in archive.namelist():
            return []
        strings: list[str] = []
        parts: list[str] = []
        skip = 0  # inside a phonetic run (rPh): not part of the text
        with archive.open("xl/sharedStrings.xml") as handle:
            for event, element in iterparse(handle, events=("start", "end")):
                tag = _local(element.tag)
                if tag == "rPh":
                    skip += 1 if event == "start" else -1
                elif event == "end" and tag == "t" and not skip:
                    parts.append(element.text or "")
                elif event == "end" and tag == "si":
                    strings.append("".join(parts))
                    parts = []
                    element.clear()
        return strings

    @staticmethod
    def _date_styles(archive: zipfile.ZipFile) -> set[int]:
        from xml.etree.ElementTree import fromstring

        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

        try:
            root = fromstring(archive.read("xl/styles.xml"))
        except KeyError:
            return set()
        custom = {}
        for element in root.iter():
            if _local(element.tag) == "numFmt":
                custom[int(element.get("numFmtId", "0"))] = element.get("formatCode", "")
        dates: set[int] = set()
        for container in root.iter():
            if _local(container.tag) != "cellXfs":
                continue
            for index, xf in enumerate(child for child in container if _local(child.tag) == "xf"):
                number_format = int(xf.get("numFmtId", "0"))
                code = custom.get(number_format, BUILTIN_FORMATS.get(number_format, "General"))
                if is_date_format(code):
                    dates.add(index)
        return dates

    def _cells(self, handle) -> tuple[list[tuple[int, list[Any]]], list[tuple[int, int, int, int]], int]:
        from xml.etree.ElementTree import iterparse

        from openpyxl.utils.datetime import from_excel

        records: list[tuple[int, list[Any]]] = []
        merged: list[tuple[int, int, int, int]] = []
        unsaved = 0
        row_number = 0
        values: dict[int, Any] = {}
        column = -1
        cell_type = style = None
        value_text: str | None = None
        inline: list[str] = []
        has_formula = False
        for event, element in iterparse(handle, events=("start", "end")):
            tag = _local(element.tag)
            if event == "start":
                if tag == "row":
                    row_number = int(element.get("r") or row_number + 1)
                    values = {}
                    column = -1
                elif tag == "c":
                    reference = _CELL_REF.match(element.get("r") or "")
                    column = _column_index(reference[1]) if reference else column + 1
                    cell_type, style = element.get("t", "n"), element.get("s")
                    value_text, inline, has_formula = None, [], False
                continue
            if tag == "v":
                value_text = element.text
            elif tag == "t" and cell_type == "inlineStr":
                inline.append(element.text or "")
            elif tag == "f":
                has_formula = True
            elif tag == "c":
                if has_formula and value_text is None:
                    unsaved += 1
                values[column] = self._value(cell_type, style, value_text, inline, from_excel)
                element.clear()
            elif tag == "row":
                if values:
                    width = max(values) + 1
                    records.append((row_number, [values.get(i) for i in range(width)]))
                    if len(records) > self.max_rows + _HEADER_SEARCH_ROWS:
                        raise PayrollFileError("too_many_rows", limit=self.max_rows)
                element.clear()
            elif tag == "mergeCell":
                parts = (element.get("ref") or "").split(":")
                matches = [_CELL_REF.match(part) for part in parts]
                if len(matches) == 2:
                    start, end = matches
                    if start and end:
                        merged.append(
                            (int(start[2]), _column_index(start[1]), int(end[2]), _column_index(end[1]))
                        )
        return records, merged, unsaved

    def _value(self, cell_type, style, text, inline, from_excel) -> Any:
        if cell_type == "inlineStr":
            return "".join(inline)
        if text is None:
            return None
        if cell_type == "s":
            index = int(text)
            return self.strings[index] if 0 <= index < len(self.strings) else None
        if cell_type in ("str", "d"):
            return text
        if cell_type == "b":
            return text == "1"
        if cell_type == "e":
            return None  # #VALUE!, #REF!: no usable value
        number = float(text)
        if style is not None and int(style) in self.date_styles:
            return from_excel(number, self.epoch)
        return int(number) if number.is_integer() else number


def _openpyxl_records(
    data: bytes, max_rows: int
) -> tuple[list[tuple[int, list[Any]]], list[tuple[int, int, int, int]], int]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise PayrollFileError("unreadable") from error
    try:
        if not workbook.worksheets:
            raise PayrollFileError("empty")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()
        records: list[tuple[int, list[Any]]] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if not _blank(values):
                records.append((number, list(values)))
            if len(records) > max_rows + _HEADER_SEARCH_ROWS:
                raise PayrollFileError("too_many_rows", limit=max_rows)
    finally:
        workbook.close()
    return records, [], 0


def _merge_filler(merged: list[tuple[int, int, int, int]]):
    """A function that fills each merged range's cells with the value of its top-left cell."""
    if not merged:
        return lambda number, values: values
    by_row: dict[int, list[tuple[int, int, int, int]]] = {}
    for top, left, bottom, right in merged:
        for row in range(top, bottom + 1):
            by_row.setdefault(row, []).append((top, left, bottom, right))
    remembered: dict[tuple[int, int], Any] = {}

    def fill(number: int, values: list[Any]) -> list[Any]:
        for top, left, _bottom, right in by_row.get(number, ()):
            if number == top:
                remembered[(top, left)] = values[left] if left < len(values) else None
            value = remembered.get((top, left))
            if len(values) <= right:
                values.extend([None] * (right + 1 - len(values)))
            for column in range(left, right + 1):
                if values[column] is None:
                    values[column] = value
        return values

    return fill
