"""Issue 12, finding 10: tampering at the tail of the record chain. Rewriting the last record
together with the chain head, or cutting the last records (and setting the head back), walks
intact; the signed checkpoints catch it, and the peer keeps the latest signed head it saw."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from app.settings import Settings
from app.wiring import open_runtime
from storage.db import create_engine, create_session_factory
from storage.models import Retiree
from storage.models.records import ChainCheckpoint, ChainHead, PeerChainHead, VerificationRecord
from storage.schema import upgrade
from storage.uow import unit_of_work_factory
from tests.cli import run_cli
from tests.cycle.factories import add_retiree
from tests.records.regions import BJ, BJ_PAID, SZ, SZ_PAID, Region, add_retirees, certify_many, open_region
from verification.records.chain import append_record, chain_hash, record_body, verify_chain
from verification.records.checkpoints import SignedHead, advance_checkpoint, check_checkpoints
from verification.records.exchange import PeerRegistry, generate_private_key, save_private_key

REGION = "440300"
NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


async def _append(uow_factory, retiree_id: int, at: datetime = NOW) -> None:
    async with uow_factory() as uow:
        retiree = await uow.retirees.get(retiree_id)
        await append_record(
            uow, region=REGION, event="certified", retiree=retiree, method="self_photo", at=at
        )
        await uow.commit()


async def _chain_with_checkpoints(uow_factory, vault, key, count: int = 5) -> None:
    """`count` records, a checkpoint after each (as the outbox worker makes one per round)."""
    retiree_id = await add_retiree(uow_factory, vault, pension_region=REGION)
    for n in range(count):
        await _append(uow_factory, retiree_id, NOW + timedelta(minutes=n))
        async with uow_factory() as uow:
            advance = await advance_checkpoint(uow, REGION, key, NOW + timedelta(minutes=n, seconds=30))
            assert advance.made and not advance.problem
            await uow.commit()


async def _verify(uow_factory, key):
    async with uow_factory() as uow:
        walked = await verify_chain(uow, REGION)
        return walked, await check_checkpoints(uow, walked, key.public_key())


async def _cut_tail(uow_factory, keep: int, region: str = REGION) -> None:
    """Delete every record after `keep` and set the head back to it: the walk stays intact."""
    async with uow_factory() as uow:
        session = uow.session
        last = (
            await session.execute(
                select(VerificationRecord).where(
                    VerificationRecord.region == region, VerificationRecord.seq == keep
                )
            )
        ).scalar_one()
        await session.execute(
            delete(VerificationRecord).where(
                VerificationRecord.region == region, VerificationRecord.seq > keep
            )
        )
        await session.execute(
            update(ChainHead).where(ChainHead.region == region).values(seq=keep, hash=last.hash)
        )
        await uow.commit()


async def test_an_intact_chain_verifies_and_is_anchored(uow_factory, vault):
    key = generate_private_key()
    await _chain_with_checkpoints(uow_factory, vault, key)
    walked, report = await _verify(uow_factory, key)
    assert walked.intact and report.intact and report.records == 5
    assert report.anchored and report.checkpoint_seq == 5
    async with uow_factory() as uow:  # nothing new: no new checkpoint
        advance = await advance_checkpoint(uow, REGION, key, NOW + timedelta(hours=1))
    assert not advance.made and advance.head.seq == 5 and not advance.problem


async def test_rewriting_the_last_record_and_the_head_is_reported(uow_factory, vault):
    key = generate_private_key()
    await _chain_with_checkpoints(uow_factory, vault, key)
    async with uow_factory() as uow:  # a clean rewrite: new content, new hash, new head
        session = uow.session
        last = (
            await session.execute(
                select(VerificationRecord).where(
                    VerificationRecord.region == REGION, VerificationRecord.seq == 5
                )
            )
        ).scalar_one()
        last.event = "suspended"
        last.hash = chain_hash(last.prev_hash, record_body(last))
        await session.execute(update(ChainHead).where(ChainHead.region == REGION).values(hash=last.hash))
        await uow.commit()
    walked, report = await _verify(uow_factory, key)
    assert walked.intact  # the hash chain alone does not see it
    assert not report.intact and report.first_bad_seq == 5 and report.records_lost == 1
    assert "the last 1 record(s) were removed or changed after checkpoint #5" in report.problem
    assert report.first_bad_record_id == last.record_uid
    async with uow_factory() as uow:  # and nothing is signed over it
        advance = await advance_checkpoint(uow, REGION, key, NOW + timedelta(hours=1))
    assert not advance.made and advance.head.seq == 5 and "#5" in advance.problem


@pytest.mark.parametrize("removed", [1, 3])
async def test_deleting_the_last_records_is_reported(uow_factory, vault, removed):
    key = generate_private_key()
    await _chain_with_checkpoints(uow_factory, vault, key)
    await _cut_tail(uow_factory, keep=5 - removed)
    walked, report = await _verify(uow_factory, key)
    assert walked.intact and walked.records == 5 - removed
    assert not report.intact and report.records_lost == removed and report.first_bad_seq == 6 - removed
    assert f"the last {removed} record(s) were removed or changed after checkpoint #5" in report.problem
    assert f"ends at #{5 - removed}" in report.problem
    # New records after the cut do not paper over it: #5 exists again, with another hash.
    async with uow_factory() as uow:
        retiree = (await uow.session.execute(select(Retiree))).scalars().first()
        for _ in range(removed):
            await append_record(uow, region=REGION, event="certified", retiree=retiree, method="x", at=NOW)
        await uow.commit()
        advance = await advance_checkpoint(uow, REGION, key, NOW + timedelta(hours=1))
    assert not advance.made and advance.problem
    walked, report = await _verify(uow_factory, key)
    assert walked.intact and walked.records == 5 and not report.intact
    assert "after checkpoint #5" in report.problem


async def test_a_forged_or_rewritten_checkpoint_is_reported(uow_factory, vault):
    key = generate_private_key()
    await _chain_with_checkpoints(uow_factory, vault, key, count=3)
    async with uow_factory() as uow:  # cut the tail and move the checkpoint back with it
        await uow.session.execute(
            update(ChainCheckpoint).where(ChainCheckpoint.seq == 3).values(seq=2, hash="0" * 64)
        )
        await uow.commit()
    _, report = await _verify(uow_factory, key)
    assert not report.intact and "does not verify with the exchange key" in report.problem
    async with uow_factory() as uow:  # a checkpoint signed with another key
        await uow.session.execute(delete(ChainCheckpoint))
        await uow.commit()
    other = generate_private_key()
    async with uow_factory() as uow:
        await advance_checkpoint(uow, REGION, other, NOW)
        await uow.commit()
    _, report = await _verify(uow_factory, key)
    assert not report.intact and report.checkpoint_seq == 3


async def test_the_peer_receives_and_stores_the_signed_head(tmp_path, database_url):
    sz = await open_region(SZ, tmp_path / "sz.db")
    engine = create_engine(database_url)  # the receiving side on SQLite and PostgreSQL
    await upgrade(engine)
    bj = Region(BJ, engine, unit_of_work_factory(create_session_factory(engine)), PeerRegistry(), sz.clock)
    try:
        for region in (sz, bj):
            await add_retirees(region, BJ_PAID, BJ, SZ)
            await add_retirees(region, SZ_PAID, SZ, BJ)
        await sz.start([bj])
        await bj.start([sz])
        await certify_many(sz, BJ_PAID)
        assert (await sz.dispatcher.drain()).delivered == 20
        async with sz.uow_factory() as uow:
            sz_head = await uow.session.get(ChainHead, SZ)
        async with bj.uow_factory() as uow:
            stored = await uow.session.get(PeerChainHead, SZ)
        assert (stored.seq, stored.hash, stored.conflict) == (20, sz_head.hash, "")
        assert SignedHead.of(stored).signed_by(sz.key.public_key())  # bj can check it any time

        # Shenzhen's tail is cut and its checkpoints deleted with it: locally that is not
        # seen any more, but the next head it sends goes backwards, and Beijing keeps both.
        async with sz.uow_factory() as uow:
            await uow.session.execute(delete(ChainCheckpoint))
            await uow.commit()
        await _cut_tail(sz.uow_factory, keep=17, region=SZ)
        sz.clock.now += timedelta(minutes=1)
        await certify_many(sz, BJ_PAID[:1])  # record #18, again
        assert (await sz.dispatcher.drain()).delivered == 1
        async with bj.uow_factory() as uow:
            stored = await uow.session.get(PeerChainHead, SZ)
        assert stored.seq == 20 and stored.hash == sz_head.hash  # the later head stays
        assert "received head #18" in stored.conflict and "cut or rewritten" in stored.conflict
    finally:
        await sz.close()
        await bj.close()


async def test_records_verify_reports_a_cut_tail(sqlite_url, tmp_path, vault):
    var = tmp_path / "var"
    settings = Settings(database_url=sqlite_url, var_dir=var)
    save_private_key(generate_private_key(), var / "exchange_key")
    async with open_runtime(settings) as runtime:
        retiree_id = await add_retiree(runtime.uow_factory, vault, pension_region=REGION)
        for n in range(3):
            await _append(runtime.uow_factory, retiree_id, NOW + timedelta(minutes=n))
    env = {**os.environ, "DATABASE_URL": sqlite_url, "VAR_DIR": str(var)}
    done = run_cli("records", "verify", env=env)
    assert done.returncode == 0, done.stderr
    assert "region 440300: 3 records, chain intact (head signed at checkpoint #3)" in done.stdout
    async with open_runtime(settings) as runtime:
        await _cut_tail(runtime.uow_factory, keep=2)
    done = run_cli("records", "verify", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BROKEN at record #3" in done.stdout
    assert "the last 1 record(s) were removed or changed after checkpoint #3" in done.stdout
