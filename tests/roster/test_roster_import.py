"""Importing rosters into the database, on SQLite and PostgreSQL (conftest fixtures)."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import LargeBinary, String, Text, select
from sqlalchemy.types import JSON

from storage.models import ErrorRecord, Retiree, RosterImport
from storage.uow import UnitOfWork
from tests.roster.rosters import HEADER_ZH, STANDARD_ID, make_id, person, write_csv, write_xlsx
from verification.roster.service import (
    RosterFileError,
    RosterImportInterrupted,
    RosterSource,
    import_roster,
)

TODAY = date(2025, 6, 1)


async def _import(path, uow_factory, vault, **options):
    return await import_roster(RosterSource(path), uow_factory, vault, today=TODAY, **options)


def _snapshot(instance):
    """Column values read while the session is open (leaving a unit of work expires them)."""
    return SimpleNamespace(**{c.key: getattr(instance, c.key) for c in instance.__table__.columns})


async def _all(uow_factory, model):
    async with uow_factory() as uow:
        rows = (await uow.session.execute(select(model).order_by(model.id))).scalars()
        return [_snapshot(row) for row in rows]


async def _retiree(uow_factory, vault, id_number):
    async with uow_factory() as uow:
        return _snapshot(await uow.retirees.by_id_hash(vault.lookup_hash(id_number)))


async def test_good_csv_is_imported(tmp_path, uow_factory, vault):
    path = write_csv(tmp_path / "roster.csv", [person(i) for i in range(5)], header=HEADER_ZH)
    report = await _import(path, uow_factory, vault)
    assert (report.rows_read, report.new, report.updated, report.refused) == (5, 5, 0, [])
    assert report.completed

    retiree = await _retiree(uow_factory, vault, make_id(3))
    assert retiree.name == "张秀英3"
    assert vault.decrypt_text(retiree.id_number_encrypted) == make_id(3)
    assert vault.decrypt_text(retiree.phone_encrypted) == "13800000003"
    assert retiree.birth_date == date(1950, 3, 1)
    assert (retiree.pension_region, retiree.residence_region) == ("110105", "110108")
    assert (retiree.pension_start, retiree.last_certified_on) == (date(2010, 3, 1), date(2024, 3, 1))

    (roster_import,) = await _all(uow_factory, RosterImport)
    assert roster_import.id == report.import_id
    assert (roster_import.file_name, roster_import.file_sha256) == ("roster.csv", report.file_sha256)
    assert (roster_import.rows_total, roster_import.rows_imported, roster_import.rows_refused) == (5, 5, 0)
    assert roster_import.finished_at is not None


@pytest.mark.parametrize("parallel", [False, True], ids=["thread", "child-process"])
async def test_good_xlsx_is_imported(tmp_path, uow_factory, vault, parallel):
    rows = [
        ["王五", STANDARD_ID, 110105, "110105", datetime(2010, 1, 5), date(2024, 5, 1), 13800138000, None],
        ["李四", make_id(1), "110105", 110108, "2010/3/1", "20240301", "138 0013 8001", None],
        ["赵六", 110105195003010019, "110105", "110105", "2010-03-01", None, None, None],  # number cell
    ]
    path = write_xlsx(tmp_path / "roster.xlsx", rows, HEADER_ZH)
    report = await _import(path, uow_factory, vault, parallel=parallel)
    assert (report.new, report.updated) == (2, 0)
    assert [(r.row, r.code) for r in report.refused] == [(4, "id_number_not_text")]
    retiree = await _retiree(uow_factory, vault, STANDARD_ID)
    assert (retiree.name, retiree.pension_start, retiree.last_certified_on) == (
        "王五",
        date(2010, 1, 5),
        date(2024, 5, 1),
    )
    assert vault.decrypt_text(retiree.phone_encrypted) == "13800138000"
    assert (await _retiree(uow_factory, vault, make_id(1))).residence_region == "110108"


async def test_second_import_updates_and_never_duplicates(tmp_path, uow_factory, vault):
    path = write_csv(tmp_path / "roster.csv", [person(i) for i in range(4)])
    first = await _import(path, uow_factory, vault)
    before = await _retiree(uow_factory, vault, make_id(2))

    changed = [person(i) for i in range(4)]
    changed[2].update(phone="13900000000", last_certified_on="2025-05-01", name="张秀英二")
    changed[3].update(phone="", last_certified_on="2020-01-01")  # empty phone, older date
    second = await _import(write_csv(tmp_path / "roster.csv", changed), uow_factory, vault)

    assert (first.new, first.updated) == (4, 0)
    assert (second.new, second.updated, second.rows_read) == (0, 4, 4)
    async with uow_factory() as uow:
        assert await uow.retirees.count() == 4
    after = await _retiree(uow_factory, vault, make_id(2))
    assert after.id == before.id
    assert after.name == "张秀英二"
    assert vault.decrypt_text(after.phone_encrypted) == "13900000000"
    assert after.last_certified_on == date(2025, 5, 1)
    kept = await _retiree(uow_factory, vault, make_id(3))
    # An empty cell keeps the phone on file, and a certification date never moves back.
    assert vault.decrypt_text(kept.phone_encrypted) == "13800000003"
    assert kept.last_certified_on == date(2024, 3, 1)
    assert len(await _all(uow_factory, RosterImport)) == 2


async def test_gbk_csv_keeps_chinese_names(tmp_path, uow_factory, vault):
    rows = [person(0, name="张秀英"), person(1, name="欧阳淑华")]
    path = write_csv(tmp_path / "gbk.csv", rows, header=HEADER_ZH, encoding="gbk")
    report = await _import(path, uow_factory, vault)
    assert report.new == 2
    assert (await _retiree(uow_factory, vault, make_id(1))).name == "欧阳淑华"


async def test_wrong_header_writes_nothing(tmp_path, uow_factory, vault):
    path = tmp_path / "bad.csv"
    path.write_text("姓名,身份证号码,手机号\n王五,11010519491231002X,13800138000\n", encoding="utf-8")
    with pytest.raises(RosterFileError) as refused:
        await _import(path, uow_factory, vault)
    assert "参保地/pension_region" in refused.value.message()
    await _assert_nothing_written(uow_factory)


async def test_empty_file_writes_nothing(tmp_path, uow_factory, vault):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(RosterFileError, match="empty"):
        await _import(path, uow_factory, vault)
    await _assert_nothing_written(uow_factory)


async def test_duplicate_id_number_names_both_rows_and_keeps_the_others(tmp_path, uow_factory, vault):
    rows = [person(0), person(1), person(2, id_number=make_id(0)), person(3)]
    report = await _import(write_csv(tmp_path / "dup.csv", rows), uow_factory, vault)
    assert report.new == 3
    (refused,) = report.refused
    assert (refused.row, refused.code) == (4, "duplicate_id_number")
    assert "row 2" in refused.message()
    # The first occurrence is the one kept.
    assert (await _retiree(uow_factory, vault, make_id(0))).name == "张秀英0"
    (record,) = await _all(uow_factory, ErrorRecord)
    assert (record.code, record.context) == ("duplicate_id_number", {"row": 4, "first_row": 2})


async def test_invalid_check_digit_is_refused_by_row_and_the_rest_committed(tmp_path, uow_factory, vault):
    bad = make_id(1)[:17] + ("0" if make_id(1)[17] != "0" else "1")
    rows = [person(0), person(1, id_number=bad), person(2)]
    report = await _import(write_csv(tmp_path / "r.csv", rows), uow_factory, vault)
    assert report.new == 2
    assert [(r.row, r.code) for r in report.refused] == [(3, "bad_check_digit")]
    (record,) = await _all(uow_factory, ErrorRecord)
    assert record.source == "roster_import"
    assert record.code == "bad_check_digit"
    assert record.context["row"] == 3
    assert record.roster_import_id == report.import_id
    assert record.detail.startswith("row 3: ")
    (roster_import,) = await _all(uow_factory, RosterImport)
    assert (roster_import.rows_total, roster_import.rows_imported, roster_import.rows_refused) == (3, 2, 1)


async def test_missing_photo_is_a_warning_and_the_row_is_imported(tmp_path, uow_factory, vault):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "0.jpg").write_bytes(b"jpeg")
    rows = [person(0, reference_photo="photos/0.jpg"), person(1, reference_photo="photos/1.jpg")]
    report = await _import(write_csv(tmp_path / "roster.csv", rows), uow_factory, vault)
    assert (report.new, report.refused) == (2, [])
    assert [(w.row, w.code) for w in report.warnings] == [(3, "photo_missing")]
    assert (await _retiree(uow_factory, vault, make_id(0))).reference_photo_path == str(
        (tmp_path / "photos" / "0.jpg").resolve()
    )
    assert (await _retiree(uow_factory, vault, make_id(1))).reference_photo_path is None
    (record,) = await _all(uow_factory, ErrorRecord)
    assert (record.code, record.context) == (
        "photo_missing",
        {"row": 3, "column": "reference_photo", "severity": "warning"},
    )


async def test_the_database_holds_no_plain_id_or_phone_number(tmp_path, uow_factory, vault, engine):
    rows = [
        person(0, id_number=STANDARD_ID),
        person(1),
        person(2, id_number=STANDARD_ID),
        person(3, id_number=STANDARD_ID[:17] + "0"),
    ]
    await _import(write_csv(tmp_path / "roster.csv", rows), uow_factory, vault)
    secrets = [STANDARD_ID, STANDARD_ID[:17], make_id(1), "13800000000", "13800000001"]
    for table in (Retiree.__table__, ErrorRecord.__table__, RosterImport.__table__):
        columns = [c for c in table.columns if isinstance(c.type, String | Text | LargeBinary | JSON)]
        async with engine.connect() as connection:
            for row in (await connection.execute(select(*columns))).all():
                for value in row:
                    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                    for secret in secrets:
                        assert secret not in text, (table.name, secret)


async def test_a_large_roster_in_a_child_process_matches_the_thread_path(tmp_path, uow_factory, vault):
    rows = [person(i) for i in range(2_500)] + [person(9, id_number="bad")]
    path = write_csv(tmp_path / "big.csv", rows)
    seen: list[int] = []
    report = await _import(path, uow_factory, vault, parallel=True, progress=lambda n, _t: seen.append(n))
    assert (report.rows_read, report.new, len(report.refused)) == (2_501, 2_500, 1)
    assert seen == [1000, 1000, 501]
    assert report.refused[0].row == 2_502
    again = await _import(path, uow_factory, vault, parallel=False)
    assert (again.new, again.updated) == (0, 2_500)
    async with uow_factory() as uow:
        assert await uow.retirees.count() == 2_500


@pytest.mark.parametrize("parallel", [False, True])
async def test_a_failure_half_way_keeps_committed_batches_and_no_half_batch(
    tmp_path, uow_factory, vault, monkeypatch, parallel
):
    path = write_csv(tmp_path / "roster.csv", [person(i) for i in range(50)] + [person(0)])
    commits = 0
    real_commit = UnitOfWork.commit

    async def failing_commit(self):
        nonlocal commits
        commits += 1
        if commits == 4:  # 1: the import record, 2-3: two batches, 4: the third batch
            raise ConnectionError("database went away")
        await real_commit(self)

    monkeypatch.setattr(UnitOfWork, "commit", failing_commit)
    with pytest.raises(RosterImportInterrupted) as interrupted:
        await _import(path, uow_factory, vault, batch_size=20, parallel=parallel)
    monkeypatch.setattr(UnitOfWork, "commit", real_commit)

    report = interrupted.value.report
    assert (report.rows_read, report.new, report.completed) == (40, 40, False)
    async with uow_factory() as uow:
        assert await uow.retirees.count() == 40  # exactly two batches, nothing of the third
    (roster_import,) = await _all(uow_factory, RosterImport)
    assert (roster_import.rows_total, roster_import.rows_imported) == (40, 40)
    assert roster_import.finished_at is None  # not finished: the record shows it

    # Running it again completes the import without duplicates.
    again = await _import(path, uow_factory, vault, batch_size=20)
    assert (again.new, again.updated, len(again.refused)) == (10, 40, 1)
    async with uow_factory() as uow:
        assert await uow.retirees.count() == 50


async def _assert_nothing_written(uow_factory):
    for model in (Retiree, RosterImport, ErrorRecord):
        assert await _all(uow_factory, model) == []
