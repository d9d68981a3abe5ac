"""A life-signal feed on SQLite and PostgreSQL: silent certification, and every bad row."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from storage.models import ErrorRecord, Retiree
from storage.models.certification import Certification
from storage.models.records import OutboxEntry, VerificationRecord
from storage.models.signals import ChatNotice, LifeSignal
from tests.cycle.factories import FakeClock, bind
from tests.signals.factories import add_retiree, importer, write_feed
from verification.cycle.policies import load_cycle_policies
from verification.cycle.service import CycleService
from verification.records.chain import verify_chain
from verification.roster.synthetic import synthetic_id_number
from verification.signals.service import FeedRefused
from verification.signals.sources import SourceError

TODAY = date(2026, 11, 20)


@pytest.fixture
def clock():
    return FakeClock(TODAY)


async def test_a_settlement_inside_the_window_certifies_silently_and_stops_the_reminders(
    uow_factory, vault, clock, tmp_path
):
    retiree_id, number = await add_retiree(
        uow_factory, vault, due_on=date(2026, 12, 10), last_certified_on=date(2025, 12, 10)
    )
    await bind(uow_factory, retiree_id, 501)
    await bind(uow_factory, retiree_id, 502, kind="helper")
    cycle = CycleService(uow_factory, load_cycle_policies(), "Asia/Shanghai", clock)
    assert {n.chat_id for n in await cycle.sweep_reminders()} == {501, 502}  # 20 days left: the 30-day one

    feed = write_feed(tmp_path / "yb.csv", [(number, "2026-11-18")])
    report = await importer(uow_factory, vault, clock).import_file(feed, "medical_settlement")

    assert (report.rows_read, report.kept, report.certified, report.refused) == (1, 1, 1, [])
    async with uow_factory() as uow:
        retiree = await uow.session.get(Retiree, retiree_id)
        certification = (await uow.session.execute(select(Certification))).scalar_one()
        record = (
            await uow.session.execute(
                select(VerificationRecord).where(VerificationRecord.event == "certified")
            )
        ).scalar_one()
        outbox = (await uow.session.execute(select(OutboxEntry))).scalars().all()
        notices = (await uow.session.execute(select(ChatNotice).order_by(ChatNotice.chat_id))).scalars().all()
        signal = (await uow.session.execute(select(LifeSignal))).scalar_one()
        chain = await verify_chain(uow, "440300")
    assert retiree.last_certified_on == date(2026, 11, 18)
    assert retiree.due_on == date(2027, 11, 18)  # a year from the day the retiree was seen
    assert (certification.method, certification.certified_on, certification.place) == (
        "data",
        date(2026, 11, 18),
        "medical_settlement",
    )
    assert signal.certification_id == certification.id
    assert (record.method, record.region, record.pension_region) == ("data", "440300", "110000")
    assert record.detail["source"] == "medical_settlement" and record.detail["signal_on"] == "2026-11-18"
    assert [entry.dest_region for entry in outbox] == ["110000"]  # the paying region hears of it
    assert chain.intact and chain.records == 1
    assert [(n.chat_id, n.kind, n.for_helper) for n in notices] == [
        (501, "silent_certified", False),
        (502, "silent_certified", True),
    ]
    clock.set(date(2026, 12, 3))  # the 7-day reminder would be due now
    assert await cycle.sweep_reminders() == []


async def test_signals_that_do_not_certify_are_kept_with_the_reason(uow_factory, vault, clock, tmp_path):
    far, far_number = await add_retiree(uow_factory, vault, due_on=date(2027, 9, 1))
    _, old_number = await add_retiree(uow_factory, vault, due_on=date(2026, 12, 1))
    _, suspended_number = await add_retiree(
        uow_factory, vault, due_on=date(2026, 9, 1), payment_state="suspended"
    )
    _, newer_number = await add_retiree(
        uow_factory, vault, due_on=date(2027, 11, 1), last_certified_on=date(2026, 11, 1)
    )
    rows = [
        (far_number, "2026-11-10"),  # the due date is ten months away
        (old_number, "2026-07-01"),  # 142 days old: older than the source's 90
        (suspended_number, "2026-11-10"),  # payment suspended: a person resumes it
        (newer_number, "2026-10-30"),  # before the last certification
    ]
    report = await importer(uow_factory, vault, clock).import_file(
        write_feed(tmp_path / "f.csv", rows), "medical_settlement"
    )
    assert (report.kept, report.certified) == (4, 0)
    assert report.not_certifying == {"too_early": 1, "too_old": 1, "not_active": 1, "not_newer": 1}

    transit = await importer(uow_factory, vault, clock).import_file(
        write_feed(tmp_path / "t.csv", [(far_number, "2026-11-19")]), "transit_card"
    )
    assert (transit.kept, transit.certified, dict(transit.not_certifying)) == (1, 0, {"not_proof": 1})
    async with uow_factory() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(LifeSignal)) == 5
        assert await uow.session.scalar(select(func.count()).select_from(Certification)) == 0
        assert (await uow.session.get(Retiree, far)).due_on == date(2027, 9, 1)


async def test_every_bad_row_is_named_by_number_and_nothing_is_counted_twice(
    uow_factory, vault, clock, tmp_path
):
    _, good = await add_retiree(uow_factory, vault, due_on=date(2026, 12, 1))
    _, opted_out = await add_retiree(uow_factory, vault, due_on=date(2026, 12, 1), opted_out=True)
    unknown = synthetic_id_number("310101", date(1950, 1, 1), 11)  # valid, but nobody on the roster
    bad_digit = good[:-1] + ("0" if good[-1] != "0" else "1")
    rows = [
        (good, "2026-11-01"),  # row 2: kept, certifies
        (unknown, "2026-11-01"),  # row 3
        (bad_digit, "2026-11-01"),  # row 4
        (good, "2026-12-25"),  # row 5: in the future
        (good, "2026-02-30"),  # row 6: no such day
        (good, "2026-11-01"),  # row 7: the same as row 2
        (opted_out, "2026-11-01"),  # row 8: withdrew consent to data matching
        (good, "1950-01-01"),  # row 9: before the retiree was born
        ("", "2026-11-01"),  # row 10
    ]
    feed = write_feed(tmp_path / "bad.csv", rows)
    report = await importer(uow_factory, vault, clock).import_file(feed, "medical_settlement")
    assert (report.kept, report.certified) == (1, 1)
    assert sorted((r.row, r.code) for r in report.refused) == [
        (3, "unknown_person"),
        (4, "bad_check_digit"),
        (5, "date_in_future"),
        (6, "bad_date"),
        (7, "duplicate_row"),
        (8, "opted_out"),
        (9, "date_before_birth"),
        (10, "missing_value"),
    ]
    async with uow_factory() as uow:
        errors = (
            await uow.session.execute(select(ErrorRecord).where(ErrorRecord.source == "signal_import"))
        ).scalars()
        assert sorted(e.context["row"] for e in errors) == [3, 4, 5, 6, 7, 8, 9, 10]
        # Nothing personal in an error record: the ID numbers are not there.
        for error in (await uow.session.execute(select(ErrorRecord))).scalars():
            assert good not in error.detail + str(error.context) and unknown not in error.detail
        signals = await uow.session.scalar(select(func.count()).select_from(LifeSignal))
    assert signals == 1  # the opted-out retiree's signal is not even kept

    with pytest.raises(FeedRefused) as refused:  # the same file again
        await importer(uow_factory, vault, clock).import_file(feed, "medical_settlement")
    assert refused.value.code == "feed_already_imported"

    # Another file repeating a row already kept: counted as repeated, certifying nothing again.
    again = await importer(uow_factory, vault, clock).import_file(
        write_feed(tmp_path / "again.csv", [(good, "2026-11-01"), (good, "2026-11-02")]), "medical_settlement"
    )
    assert (again.kept, again.repeated, again.certified) == (1, 1, 0)  # 11-02 is before the new due
    async with uow_factory() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Certification)) == 1


async def test_an_unknown_source_and_a_file_without_the_columns_write_nothing(
    uow_factory, vault, clock, tmp_path
):
    from verification.roster.reader import RosterFileError

    with pytest.raises(SourceError):
        await importer(uow_factory, vault, clock).import_file(write_feed(tmp_path / "a.csv", []), "horoscope")
    with pytest.raises(RosterFileError) as bad:
        await importer(uow_factory, vault, clock).import_file(
            write_feed(tmp_path / "b.csv", [("x", "y")], header=("姓名", "备注")), "medical_settlement"
        )
    assert bad.value.code == "bad_header"
    async with uow_factory() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(LifeSignal)) == 0


async def test_an_import_stopped_half_way_completes_on_a_second_run(uow_factory, vault, clock, tmp_path):
    numbers = [(await add_retiree(uow_factory, vault, due_on=date(2026, 12, 1)))[1] for _ in range(5)]
    feed = write_feed(tmp_path / "five.csv", [(n, "2026-11-15") for n in numbers])
    first = importer(uow_factory, vault, clock, batch_size=2)
    calls = 0
    original = first._write_batch

    async def fail_on_the_second_batch(*args):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionError("the database went away")
        await original(*args)

    first._write_batch = fail_on_the_second_batch
    with pytest.raises(ConnectionError):
        await first.import_file(feed, "medical_settlement")
    report = await importer(uow_factory, vault, clock, batch_size=2).import_file(feed, "medical_settlement")
    assert (report.kept, report.repeated, report.certified) == (3, 2, 3)
    async with uow_factory() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Certification)) == 5
        assert (await verify_chain(uow, "440300")).intact


async def test_a_large_feed_is_read_in_a_child_process_with_the_same_result(
    uow_factory, vault, clock, tmp_path, monkeypatch
):
    import verification.signals.service as service

    monkeypatch.setattr(service, "PARALLEL_FROM_ROWS", 1)  # any file counts as large
    _, good = await add_retiree(uow_factory, vault, due_on=date(2026, 12, 1))
    rows = [(good, "2026-11-10"), ("bad", "2026-11-10"), (good, "2026-11-10")]
    report = await importer(uow_factory, vault, clock, batch_size=2).import_file(
        write_feed(tmp_path / "large.csv", rows), "medical_settlement"
    )
    assert (report.rows_read, report.kept, report.certified) == (3, 1, 1)
    assert sorted((r.row, r.code) for r in report.refused) == [(3, "wrong_length"), (4, "duplicate_row")]
