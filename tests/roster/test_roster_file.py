"""Reading roster files and checking rows, without a database."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from tests.roster.rosters import HEADER_EN, HEADER_ZH, STANDARD_ID, person, write_csv, write_xlsx
from verification.roster.reader import RosterField, RosterFileError, RosterSource
from verification.roster.rows import RefusedRow, RosterRecord, RowValidator, parse_date

TODAY = date(2025, 6, 1)


def _rows(path: Path) -> list:
    with RosterSource(path).open() as reader:
        return list(reader.rows())


def _check(tmp_path: Path, **overrides: object) -> RosterRecord | RefusedRow:
    cells = {RosterField(key): value for key, value in person(1).items()}
    cells.update({RosterField(key): value for key, value in overrides.items()})
    from verification.roster.reader import RawRow

    validator = RowValidator(today=TODAY, photo_folder=tmp_path, columns={})
    return validator.check(RawRow(number=7, cells=cells))


def test_english_and_chinese_headers_are_accepted(tmp_path):
    english = write_csv(tmp_path / "en.csv", [person(1)], header=HEADER_EN)
    chinese = write_csv(tmp_path / "zh.csv", [person(1)], header=HEADER_ZH)
    assert _rows(english)[0].cells == _rows(chinese)[0].cells


def test_header_variants_with_spaces_and_brackets(tmp_path):
    path = tmp_path / "variants.csv"
    path.write_text(
        "序号, 姓 名 ,身份证号,养老金发放地（区划代码）,现居住地,开始领取日期,最近认证日期,手机号码,照片\n"
        f"1,王五,{STANDARD_ID},110105,110105,2010-01-05,,,\n",
        encoding="utf-8",
    )
    with RosterSource(path).open() as reader:
        assert reader.ignored_columns == ["序号"]
        assert set(reader.columns) == set(RosterField) - {RosterField.MONTHLY_PENSION}
        (row,) = reader.rows()
    assert row.number == 2
    assert row.cells[RosterField.ID_NUMBER] == STANDARD_ID


def test_an_incomplete_header_names_the_missing_and_found_columns(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(f"姓名,身份证,电话\n王五,{STANDARD_ID},13800138000\n", encoding="utf-8")
    with pytest.raises(RosterFileError) as refused:
        RosterSource(path).open()
    message = refused.value.message("en")
    assert refused.value.code == "bad_header"
    for missing in ("参保地/pension_region", "居住地/residence_region", "退休日期/pension_start"):
        assert missing in message
    assert "Found: 姓名, 身份证, 电话" in message
    assert "姓名/name" not in message


def test_a_data_row_instead_of_a_header_is_refused(tmp_path):
    path = tmp_path / "noheader.csv"
    path.write_text(f"王五,{STANDARD_ID},110105,110105,2010-01-05\n", encoding="utf-8")
    with pytest.raises(RosterFileError, match="column titles"):
        RosterSource(path).open()


def test_two_columns_for_the_same_field_are_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("姓名,name,身份证号码,参保地,居住地,退休日期\n", encoding="utf-8")
    with pytest.raises(RosterFileError) as refused:
        RosterSource(path).open()
    assert refused.value.code == "duplicate_column"


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", "\ufeff".encode()])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(RosterFileError) as refused:
        RosterSource(path).open()
    assert refused.value.code == "empty_file"


def test_header_without_rows(tmp_path):
    path = write_csv(tmp_path / "header-only.csv", [], header=HEADER_ZH)
    with pytest.raises(RosterFileError) as refused:
        RosterSource(path).open()
    assert refused.value.code == "no_data_rows"
    assert "nothing to import" in refused.value.message("en")


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig", "utf-16"])
def test_encodings(tmp_path, encoding):
    names = ["张秀英", "欧阳淑华", "买买提·艾力"]
    rows = [person(i, name=name) for i, name in enumerate(names)]
    path = write_csv(tmp_path / "roster.csv", rows, header=HEADER_ZH, encoding=encoding)
    assert [row.cells[RosterField.NAME] for row in _rows(path)] == names


def test_undecodable_text_is_refused_before_any_row(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes("姓名,身份证号码,参保地,居住地,退休日期\n".encode() + b"\x81\x20\xff\xfe\x80\n")
    with pytest.raises(RosterFileError) as refused:
        RosterSource(path).open()
    assert refused.value.code == "unknown_encoding"


def test_semicolon_and_tab_separated(tmp_path):
    for delimiter in (";", "\t"):
        path = tmp_path / "sep.csv"
        path.write_text(
            delimiter.join(HEADER_ZH[:5])
            + "\n"
            + delimiter.join(["王五", STANDARD_ID, "110105", "110105", "2010-01-05"])
            + "\n",
            encoding="utf-8",
        )
        (row,) = _rows(path)
        assert row.cells[RosterField.ID_NUMBER] == STANDARD_ID


def test_blank_rows_are_skipped_and_row_numbers_follow_the_sheet(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text(
        ",".join(HEADER_EN[:5]) + "\n"
        f"王五,{STANDARD_ID},110105,110105,2010-01-05\n"
        ",,,,\n"
        f'"王\n六",{STANDARD_ID},110105,110105,2010-01-05\n',
        encoding="utf-8",
    )
    assert [row.number for row in _rows(path)] == [2, 4]


def test_old_xls_is_refused_with_advice(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(RosterFileError, match=r"\.xlsx"):
        RosterSource(path).open()


def test_corrupt_xlsx_is_refused(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(RosterFileError) as refused:
        RosterSource(path).open()
    assert refused.value.code == "unreadable_file"


def test_xlsx_cells_keep_their_types_and_row_numbers(tmp_path):
    path = write_xlsx(
        tmp_path / "roster.xlsx",
        [
            ["王五", STANDARD_ID, 110105, 110105, datetime(2010, 1, 5), None, 13800138000, None],
            [None] * 8,
            ["李四", "110105194912310021", "110105", "110105", "2010/1/5", None, None, None],
        ],
        HEADER_ZH,
    )
    first, second = _rows(path)
    assert (first.number, second.number) == (2, 4)
    assert first.cells[RosterField.PENSION_START] == datetime(2010, 1, 5)
    assert first.cells[RosterField.PENSION_REGION] == 110105


def test_raw_rows_do_not_show_their_cells(tmp_path):
    (row,) = _rows(write_csv(tmp_path / "r.csv", [person(1, id_number=STANDARD_ID)]))
    assert STANDARD_ID not in repr(row)


# ---------------------------------------------------------------- rows


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2010-01-05", date(2010, 1, 5)),
        ("2010/01/05", date(2010, 1, 5)),
        ("2010/1/5", date(2010, 1, 5)),
        ("20100105", date(2010, 1, 5)),
        ("2010年1月5日", date(2010, 1, 5)),
        ("2010-01-05 00:00:00", date(2010, 1, 5)),
        (20100105, date(2010, 1, 5)),
        (datetime(2010, 1, 5, 0, 0), date(2010, 1, 5)),
        (date(2010, 1, 5), date(2010, 1, 5)),
        ("2010-13-05", None),
        ("05/01/2010", None),
        ("2010-02-30", None),
        ("soon", None),
        (40183.5, None),
    ],
)
def test_dates(cell, expected):
    assert parse_date(cell) == expected


def test_a_good_row_is_typed(tmp_path):
    record = _check(tmp_path, id_number=" 11010519491231002x", phone="+86 138-0013-8000", name="王  五")
    assert isinstance(record, RosterRecord)
    assert record.id_number.number == STANDARD_ID
    assert record.id_number.birth_date == date(1949, 12, 31)
    assert record.phone == "13800138000"
    assert record.name == "王五"
    assert record.pension_start == date(2010, 3, 1)
    assert STANDARD_ID not in repr(record)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"name": "  "}, "missing_value"),
        ({"name": "王\x00五"}, "bad_name"),
        ({"id_number": ""}, "missing_value"),
        ({"id_number": 110105194912310020}, "id_number_not_text"),
        ({"id_number": "11010519491231002"}, "wrong_length"),
        ({"id_number": "110105194912310021"}, "bad_check_digit"),
        ({"pension_region": "11010"}, "bad_region_code"),
        ({"residence_region": "990101"}, "bad_region_code"),
        ({"pension_start": ""}, "missing_value"),
        ({"pension_start": "2010-02-30"}, "bad_date"),
        ({"pension_start": "2026-01-01"}, "pension_start_in_future"),
        ({"pension_start": "1985-01-01"}, "pension_start_too_early"),
        ({"last_certified_on": "2025-06-02"}, "last_certified_in_future"),
        ({"last_certified_on": "2009-01-01"}, "last_certified_before_pension_start"),
        ({"phone": "12345"}, "bad_phone"),
        ({"phone": "12800138000"}, "bad_phone"),
    ],
)
def test_each_bad_value_is_refused_with_its_reason(tmp_path, overrides, code):
    refused = _check(tmp_path, **overrides)
    assert isinstance(refused, RefusedRow)
    assert refused.row == 7
    assert refused.code == code
    assert refused.message("en") and refused.message("zh")


def test_every_problem_of_a_row_is_reported(tmp_path):
    refused = _check(tmp_path, id_number="110105194912310021", phone="123", pension_region="x")
    assert isinstance(refused, RefusedRow)
    assert refused.codes == ["bad_check_digit", "bad_region_code", "bad_phone"]
    assert refused.context() == {
        "row": 7,
        "column": "身份证号码/id_number",
        "codes": ["bad_check_digit", "bad_region_code", "bad_phone"],
    }


def test_photos(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"jpeg")
    found = _check(tmp_path, reference_photo="photos\\a.jpg")
    assert found.reference_photo == str((tmp_path / "photos" / "a.jpg").resolve())
    missing = _check(tmp_path, reference_photo="photos/b.jpg")
    assert missing.reference_photo is None
    assert [w.code for w in missing.warnings] == ["photo_missing"]
    for outside in ("../secret.jpg", "/etc/passwd", "C:\\photos\\a.jpg"):
        escaped = _check(tmp_path, reference_photo=outside)
        assert isinstance(escaped, RosterRecord)
        assert [w.code for w in escaped.warnings] == ["photo_outside_folder"]
