"""Issue 12, finding 11: a record sent before the paying region has imported its roster is
refused (422, not its retiree). It is tried again with a growing back-off, on the regions'
fixed clock, and accepted once the roster is in; after the retry period it is listed for
staff instead of being dropped. Other refusals keep their reason."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from kernel.clock import as_utc
from storage.db import create_engine, create_session_factory
from storage.keyring import ENV_NAMES, fingerprint
from storage.models.durability import KeyFingerprint
from storage.models.records import OutboxEntry, ReceivedRecord, VerificationRecord
from storage.schema import upgrade
from storage.uow import unit_of_work_factory
from tests.cli import cli_env, run_cli
from tests.records.regions import (
    BJ,
    BJ_PAID,
    SZ,
    SZ_PAID,
    Clock,
    Region,
    add_retirees,
    certify_many,
    open_region,
)
from verification.records.exchange import (
    Peer,
    PeerRegistry,
    generate_private_key,
    refused_entries,
    requeue_refused,
)

LATE = "e" * 64  # lives in Shenzhen, paid by Beijing, not on Beijing's roster yet
NEVER = "d" * 64  # the same, and Beijing never imports them
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def regions(tmp_path, database_url):
    # The sending side (whose outbox is retried) on SQLite and PostgreSQL; Beijing on SQLite.
    engine = create_engine(database_url)
    await upgrade(engine)
    sz = Region(SZ, engine, unit_of_work_factory(create_session_factory(engine)), PeerRegistry(), Clock())
    bj = await open_region(BJ, tmp_path / "bj.db", clock=sz.clock)  # one fixed time for both
    for region in (sz, bj):
        await add_retirees(region, BJ_PAID, BJ, SZ)
        await add_retirees(region, SZ_PAID, SZ, BJ)
    await add_retirees(sz, [LATE, NEVER], BJ, SZ)  # Shenzhen knows whom Beijing will pay
    await sz.start([bj])
    await bj.start([sz])
    yield sz, bj
    await sz.close()
    await bj.close()


async def _keys_of(region) -> dict[str, str]:
    """Keys for a command on the region's database, recorded there as the keys it was written
    with (its retirees are made directly, not through a vault): a command refuses others."""
    keys = {"DATA_KEY": Fernet.generate_key().decode(), "ID_HASH_KEY": Fernet.generate_key().decode()}
    async with region.uow_factory() as uow:
        for name, env in ENV_NAMES.items():
            uow.session.add(
                KeyFingerprint(
                    name=name, fingerprint=fingerprint(keys[env].encode()), recorded_at=region.clock()
                )
            )
        await uow.commit()
    return keys


async def _outbox(region) -> list[tuple[str, str, int]]:
    async with region.uow_factory() as uow:
        statement = (
            select(VerificationRecord.retiree_hash, OutboxEntry.state, OutboxEntry.attempts)
            .join(VerificationRecord, VerificationRecord.id == OutboxEntry.record_id)
            .order_by(OutboxEntry.id)
        )
        return [tuple(row) for row in (await uow.session.execute(statement)).all()]


async def _entry(region, retiree_hash: str) -> OutboxEntry:
    async with region.uow_factory() as uow:
        statement = (
            select(OutboxEntry)
            .join(VerificationRecord, VerificationRecord.id == OutboxEntry.record_id)
            .where(VerificationRecord.retiree_hash == retiree_hash)
            .order_by(OutboxEntry.id)
            .limit(1)
        )
        return (await uow.session.execute(statement)).scalar_one()


async def _received(region) -> list[str]:
    async with region.uow_factory() as uow:
        statement = select(ReceivedRecord.retiree_hash).order_by(ReceivedRecord.id)
        return list((await uow.session.execute(statement)).scalars())


async def test_refused_for_an_unknown_retiree_is_retried_until_the_roster_is_in(regions, caplog):
    sz, bj = regions
    caplog.set_level(logging.WARNING, logger="verification.records.exchange")
    await certify_many(sz, [BJ_PAID[0], LATE, BJ_PAID[1]])
    report = await sz.dispatcher.drain()
    # the others are not held up behind the refused one
    assert report.delivered == 2 and report.deferred == 1 and report.refused == 0
    assert await _received(bj) == [BJ_PAID[0], BJ_PAID[1]]
    entry = await _entry(sz, LATE)
    assert entry.state == "deferred" and entry.attempts == 1
    assert "HTTP 422 not_our_retiree" in entry.last_error
    assert as_utc(entry.next_attempt_at) == sz.clock() + timedelta(minutes=5)
    line = next(r.getMessage() for r in caplog.records if "refused" in r.getMessage())
    assert "not_our_retiree" in line and "None" not in line and LATE not in line

    # Not before its time; a later record about the same retiree waits behind it.
    sz.clock.now += timedelta(minutes=1)
    await certify_many(sz, [LATE])
    report = await sz.dispatcher.drain()
    assert report.delivered == 0 and report.refused == 0
    assert [state for h, state, _ in await _outbox(sz) if h == LATE] == ["deferred", "deferred"]

    sz.clock.now += timedelta(minutes=5)  # due: tried again, refused again, waits twice as long
    report = await sz.dispatcher.drain()
    assert report.deferred == 2 and report.delivered == 0
    entry = await _entry(sz, LATE)
    assert entry.attempts == 2 and as_utc(entry.next_attempt_at) == sz.clock() + timedelta(minutes=10)

    await add_retirees(bj, [LATE], BJ, SZ)  # Beijing imports its roster
    sz.clock.now += timedelta(minutes=9)
    assert (await sz.dispatcher.drain()).delivered == 0  # still backing off
    sz.clock.now += timedelta(minutes=1)
    report = await sz.dispatcher.drain()
    assert report.delivered == 2 and report.deferred == 0
    assert await _received(bj) == [BJ_PAID[0], BJ_PAID[1], LATE, LATE]  # in the order they happened
    assert {state for _, state, _ in await _outbox(sz)} == {"delivered"}
    async with sz.uow_factory() as uow:
        assert await refused_entries(uow, waiting_too=True) == []


async def test_after_the_retry_period_the_record_is_listed_for_staff(regions, database_url, tmp_path):
    sz, bj = regions
    await certify_many(sz, [NEVER])
    start = sz.clock()
    assert (await sz.dispatcher.drain()).deferred == 1
    async with sz.uow_factory() as uow:
        [waiting] = await refused_entries(uow, waiting_too=True)
        assert await refused_entries(uow) == []
    assert waiting.state == "deferred" and waiting.dest_region == BJ and waiting.retiree_id is not None

    tries = 1
    while sz.clock() < start + timedelta(days=7):  # the back-off grows to six hours at most
        entry = await _entry(sz, NEVER)
        assert as_utc(entry.next_attempt_at) - sz.clock() <= timedelta(hours=6)
        sz.clock.now = as_utc(entry.next_attempt_at)
        report = await sz.dispatcher.drain()
        tries += 1
        assert report.delivered == 0 and report.deferred + report.refused == 1
    assert report.refused == 1  # the last try is on the deadline, then it is given up
    assert 10 < tries < 40
    assert sz.clock() == start + timedelta(days=7)

    sz.clock.now += timedelta(days=1)  # given up: never sent again
    assert (await sz.dispatcher.drain()) == type(report)()
    async with sz.uow_factory() as uow:
        [listed] = await refused_entries(uow)
    assert listed.state == "refused" and listed.event == "certified" and listed.dest_region == BJ
    assert as_utc(listed.refused_since) == start and listed.attempts == tries
    assert "HTTP 422 not_our_retiree" in listed.reason
    assert await _received(bj) == []

    keys = await _keys_of(sz)
    done = run_cli(
        "records", "refused", env=cli_env(**keys, DATABASE_URL=database_url, VAR_DIR=str(tmp_path / "var"))
    )
    assert done.returncode == 0, done.stderr
    assert f"#{listed.outbox_id} to {BJ}: record #1 certified" in done.stdout
    assert "given up: HTTP 422 not_our_retiree" in done.stdout and NEVER not in done.stdout
    assert "1 given up, 0 waiting" in done.stdout

    await add_retirees(bj, [NEVER], BJ, SZ)  # sorted out between the regions: staff send it again
    async with sz.uow_factory() as uow:
        assert await requeue_refused(uow, [listed.outbox_id]) == 1
        await uow.commit()
    assert (await sz.dispatcher.drain()).delivered == 1
    assert await _received(bj) == [NEVER]


async def test_other_refusals_are_retried_with_their_reason(regions):
    sz, bj = regions
    bj.peers.peers[SZ] = Peer(SZ, sz.url, generate_private_key().public_key())  # a wrong key for Shenzhen
    await certify_many(sz, BJ_PAID[:2])
    report = await sz.dispatcher.drain()
    assert report.delivered == 0 and report.failed_regions == (BJ,)
    async with sz.uow_factory() as uow:
        first = (
            await uow.session.execute(select(OutboxEntry).order_by(OutboxEntry.id).limit(1))
        ).scalar_one()
        states = (
            await uow.session.execute(
                select(func.count()).select_from(OutboxEntry).where(OutboxEntry.state == "pending")
            )
        ).scalar()
    assert first.state == "pending" and first.attempts == 1 and states == 2
    assert first.last_error.startswith("HTTP 401 bad_signature - ")
    bj.peers.peers[SZ] = Peer(SZ, sz.url, sz.key.public_key())  # the key is put right
    sz.clock.now += timedelta(seconds=1)
    assert (await sz.dispatcher.drain()).delivered == 2
