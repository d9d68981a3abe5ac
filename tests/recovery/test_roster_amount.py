"""The roster's optional monthly pension column: yuan as written, kept as whole fen (Decimal,
never float); a bad amount refuses the row with a reason; an empty cell keeps what is stored."""

from __future__ import annotations

from datetime import date

import pytest

from tests.roster.rosters import person, write_xlsx
from verification.roster.messages import reason_text
from verification.roster.reader import RawRow, RosterField, RosterSource
from verification.roster.rows import RefusedRow, RosterRecord, RowValidator, pension_fen
from verification.roster.service import import_roster

TODAY = date(2025, 6, 1)


def _check(tmp_path, amount) -> RosterRecord | RefusedRow:
    cells = {RosterField(key): value for key, value in person(1).items()}
    cells[RosterField.MONTHLY_PENSION] = amount
    validator = RowValidator(today=TODAY, photo_folder=tmp_path, columns={})
    return validator.check(RawRow(number=9, cells=cells))


@pytest.mark.parametrize(
    ("cell", "fen"),
    [
        ("3250.50", 325050),
        ("3,250.5", 325050),
        ("3250", 325000),
        (" ３２５０.５ ", 325050),
        ("¥3250.50元", 325050),
        (3250, 325000),
        (3250.5, 325050),
        (3250.55, 325055),  # repr of the float, not its binary value (3250.5499999...)
        (0.1 + 0.2, "pension_amount_too_precise"),
        ("100000", 10_000_000),
        ("100000.01", "pension_amount_too_large"),
        ("325050000", "pension_amount_too_large"),
        ("-3250", "pension_amount_not_positive"),
        ("0", "pension_amount_not_positive"),
        ("3250.505", "pension_amount_too_precise"),
        ("三千", "bad_pension_amount"),
        ("3,25", "bad_pension_amount"),
        ("1e3", "bad_pension_amount"),
        ("nan", "bad_pension_amount"),
        (float("inf"), "bad_pension_amount"),
        (True, "bad_pension_amount"),
        (date(2025, 1, 1), "bad_pension_amount"),
    ],
)
def test_amounts(cell, fen):
    assert pension_fen(cell) == fen


def test_a_bad_amount_refuses_the_row_with_its_number_and_column(tmp_path):
    refused = _check(tmp_path, "-12")
    assert isinstance(refused, RefusedRow) and refused.row == 9
    assert refused.codes == ["pension_amount_not_positive"]
    assert "月养老金" in refused.message("zh") and "more than zero" in refused.message("en")
    ok = _check(tmp_path, "3250.50")
    assert isinstance(ok, RosterRecord) and ok.monthly_pension_fen == 325050
    empty = _check(tmp_path, "")
    assert isinstance(empty, RosterRecord) and empty.monthly_pension_fen is None


def test_every_amount_reason_has_words_in_both_languages():
    for code in (
        "bad_pension_amount",
        "pension_amount_not_positive",
        "pension_amount_too_precise",
        "pension_amount_too_large",
    ):
        for language in ("zh", "en"):
            assert reason_text(code, language, column="月养老金") != code


@pytest.mark.parametrize(
    "title", ["月养老金", "养老金月额", "月领取金额", "基本养老金", "monthly_pension", "月养老金（元）"]
)
def test_column_aliases(tmp_path, title):
    header = ["姓名", "身份证号码", "参保地", "居住地", "退休日期", title]
    row = person(1)
    path = write_xlsx(
        tmp_path / "r.xlsx",
        [[row["name"], row["id_number"], "110105", "110108", "2010-03-01", 3250.5]],
        header,
    )
    with RosterSource(path).open() as reader:
        (raw,) = reader.rows()
    assert raw.cells[RosterField.MONTHLY_PENSION] == 3250.5


async def test_import_keeps_the_stored_amount_when_the_cell_is_empty(uow_factory, vault, tmp_path):
    header = "姓名,身份证号码,参保地,居住地,退休日期,月养老金\n"
    first, second, third = person(1), person(2), person(3)

    def line(p, amount):
        return f"{p['name']},{p['id_number']},110105,110108,2010-03-01,{amount}\n"

    path = tmp_path / "roster.csv"
    path.write_text(
        header + line(first, '"3,250.50"') + line(second, "2800") + line(third, "-1"), encoding="utf-8"
    )
    report = await import_roster(RosterSource(path), uow_factory, vault, today=TODAY)
    assert report.imported == 2 and [r.code for r in report.refused] == ["pension_amount_not_positive"]
    assert report.refused[0].row == 4

    path.write_text(header + line(first, "") + line(second, "2900.10"), encoding="utf-8")
    await import_roster(RosterSource(path), uow_factory, vault, today=TODAY)
    async with uow_factory() as uow:
        amounts = {
            number: (await uow.retirees.by_id_hash(vault.lookup_hash(number))).monthly_pension_fen
            for number in (first["id_number"], second["id_number"])
        }
    assert amounts == {first["id_number"]: 325050, second["id_number"]: 290010}
