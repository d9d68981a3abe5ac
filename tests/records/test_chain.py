"""Verification records: the hash chain, its check, concurrent appends, and the hooks in
the certification cycle (suspended, resumed) — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update

from storage.models.certification import Certification
from storage.models.records import OutboxEntry, VerificationRecord
from tests.cycle.factories import FakeClock, add_retiree
from verification.cycle.policies import load_cycle_policies
from verification.cycle.service import CycleService
from verification.records.chain import append_record, verify_chain

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


async def _append(uow_factory, retiree_id: int, region: str = "440300", event: str = "certified"):
    async with uow_factory() as uow:
        retiree = await uow.retirees.get(retiree_id)
        record = await append_record(
            uow,
            region=region,
            event=event,
            retiree=retiree,
            method="self_photo",
            at=NOW,
            evidence_hash="ab" * 32,
        )
        await uow.commit()
        return record


async def _records(uow_factory, region: str = "440300"):
    async with uow_factory() as uow:
        statement = select(VerificationRecord).where(VerificationRecord.region == region)
        return list((await uow.session.execute(statement.order_by(VerificationRecord.seq))).scalars())


async def test_records_chain_and_verify_names_the_first_tampered_record(uow_factory, vault):
    retiree_id = await add_retiree(uow_factory, vault, pension_region="440000")
    for _ in range(5):
        await _append(uow_factory, retiree_id)
    records = await _records(uow_factory)
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == "0" * 64 and records[1].prev_hash == records[0].hash
    assert records[0].retiree_hash == (await _row_hash(uow_factory, retiree_id))
    async with uow_factory() as uow:
        report = await verify_chain(uow, "440300")
    assert report.intact and report.records == 5

    async with uow_factory() as uow:  # someone edits record 3 in the database
        await uow.session.execute(
            update(VerificationRecord).where(VerificationRecord.seq == 3).values(event="suspended")
        )
        await uow.commit()
    async with uow_factory() as uow:
        report = await verify_chain(uow, "440300")
    assert not report.intact and report.first_bad_seq == 3
    assert report.first_bad_record_id == records[2].record_uid and "hash" in report.problem


async def test_a_removed_record_is_found(uow_factory, vault):
    retiree_id = await add_retiree(uow_factory, vault)
    for _ in range(3):
        await _append(uow_factory, retiree_id)
    async with uow_factory() as uow:
        await uow.session.execute(VerificationRecord.__table__.delete().where(VerificationRecord.seq == 2))
        await uow.commit()
    async with uow_factory() as uow:
        report = await verify_chain(uow, "440300")
    assert not report.intact and report.first_bad_seq == 3 and "gap" in report.problem


async def _row_hash(uow_factory, retiree_id):
    async with uow_factory() as uow:
        return (await uow.retirees.get(retiree_id)).id_number_hash


async def test_concurrent_appends_do_not_fork_the_chain(uow_factory, vault):
    retiree_id = await add_retiree(uow_factory, vault)
    await asyncio.gather(*(_append(uow_factory, retiree_id) for _ in range(12)))
    records = await _records(uow_factory)
    assert [r.seq for r in records] == list(range(1, 13))
    async with uow_factory() as uow:
        assert (await verify_chain(uow, "440300")).intact


async def test_outbox_row_only_for_retirees_paid_elsewhere(uow_factory, vault):
    ours = await add_retiree(uow_factory, vault, pension_region="440300")
    theirs = await add_retiree(uow_factory, vault, pension_region="110000")
    await _append(uow_factory, ours)
    record = await _append(uow_factory, theirs)
    async with uow_factory() as uow:
        outbox = list((await uow.session.execute(select(OutboxEntry))).scalars())
    assert [(o.record_id, o.dest_region, o.state) for o in outbox] == [(record.id, "110000", "pending")]


async def test_an_event_rolled_back_leaves_no_record(uow_factory, vault):
    retiree_id = await add_retiree(uow_factory, vault)
    async with uow_factory() as uow:
        retiree = await uow.retirees.get(retiree_id)
        await append_record(uow, region="440300", event="certified", retiree=retiree, method="x", at=NOW)
        await uow.rollback()
    assert await _records(uow_factory) == []


async def test_suspension_and_resumption_write_records_in_their_transaction(uow_factory, vault):
    due = date(2026, 4, 30)
    retiree_id = await add_retiree(uow_factory, vault, due_on=due, pension_region="110000")
    clock = FakeClock(date(2026, 6, 1))
    service = CycleService(uow_factory, load_cycle_policies(), "Asia/Shanghai", clock, region_code="440300")
    assert await service.sweep_suspensions() == [retiree_id]
    clock.set(date(2026, 8, 20))
    async with uow_factory() as uow:
        retiree = await uow.retirees.get(retiree_id)
        change = await service.apply_certification(uow, retiree, date(2026, 8, 20))
        uow.certifications.add(
            Certification(
                retiree_id=retiree_id, certified_on=date(2026, 8, 20), valid_until=change.due_on, method="x"
            )
        )
        await uow.commit()
    records = await _records(uow_factory)
    assert [(r.event, r.method, r.pension_region) for r in records] == [
        ("suspended", "cycle", "110000"),
        ("resumed", "cycle", "110000"),
    ]
    assert records[1].detail["back_pay_months"] == ["2026-06", "2026-07", "2026-08"]
    assert datetime.fromisoformat(records[1].occurred_at) - datetime.fromisoformat(
        records[0].occurred_at
    ) >= timedelta(days=80)
    async with uow_factory() as uow:
        assert (await verify_chain(uow, "440300")).intact
        assert len(list((await uow.session.execute(select(OutboxEntry))).scalars())) == 2
