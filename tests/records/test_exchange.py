"""Two regions as two real aiohttp servers on loopback, each with its own SQLite database:
records flow both ways, a stopped peer catches up exactly once, bad requests are refused."""

from __future__ import annotations

import json
from datetime import timedelta

import aiohttp
from sqlalchemy import func, select

from storage.models.records import OutboxEntry, ReceivedRecord
from tests.records.regions import BJ, BJ_PAID, SZ, SZ_PAID, add_retirees, certify_many
from verification.records.exchange import RECORDS_PATH, generate_private_key, sign_headers


async def received(region, origin=None) -> list[tuple[str, str]]:
    async with region.uow_factory() as uow:
        statement = select(ReceivedRecord.record_uid, ReceivedRecord.retiree_hash).order_by(ReceivedRecord.id)
        return [tuple(row) for row in (await uow.session.execute(statement)).all()]


async def outbox_states(region) -> dict[str, int]:
    async with region.uow_factory() as uow:
        statement = select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state)
        return dict((await uow.session.execute(statement)).all())


async def test_records_flow_both_ways(regions):
    sz, bj = regions
    await certify_many(sz, BJ_PAID, per_retiree=2)
    await certify_many(bj, SZ_PAID)
    assert (await sz.dispatcher.drain()).delivered == 40
    assert (await bj.dispatcher.drain()).delivered == 5
    got = await received(bj)
    assert len(got) == 40 and len({uid for uid, _ in got}) == 40
    # per retiree, in the order they happened
    first_half = [h for _, h in got[:20]]
    assert first_half == BJ_PAID
    assert [h for _, h in await received(sz)] == SZ_PAID
    assert await outbox_states(sz) == {"delivered": 40}


async def test_a_stopped_peer_receives_everything_exactly_once_after_restart(regions):
    sz, bj = regions
    await certify_many(sz, BJ_PAID[:5])
    await bj.stop()
    await certify_many(sz, BJ_PAID)
    report = await sz.dispatcher.drain()
    assert report.delivered == 0 and report.failed_regions == (BJ,)
    async with sz.uow_factory() as uow:
        head = (await uow.session.execute(select(OutboxEntry).order_by(OutboxEntry.id).limit(1))).scalar_one()
    assert head.attempts == 1 and head.last_error
    sz.dispatcher._base = 60.0  # backing off: the next try waits
    await sz.dispatcher.drain()
    sz.clock.now += timedelta(hours=3)  # a peer down for hours
    await bj.start([sz])
    assert (await sz.dispatcher.drain()).delivered == 25
    assert await outbox_states(sz) == {"delivered": 25}
    got = await received(bj)
    assert len(got) == len({uid for uid, _ in got}) == 25


async def _post(url: str, body: bytes, headers: dict, path: str = RECORDS_PATH) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url + path, data=body, headers=headers) as response:
            assert response.content_type == "application/problem+json" or response.status in (200, 201)
            return response.status, await response.json(content_type=None)


async def _signed_batch(sz, hashes):
    """A real batch from Shenzhen's outbox, signed with Shenzhen's key."""
    from verification.records.exchange import OutboxDispatcher

    captured = {}

    async def capture(url, body, headers):
        captured.update(url=url, body=body, headers=headers)
        return 503, None

    await certify_many(sz, hashes)
    await OutboxDispatcher(
        sz.uow_factory, SZ, sz.peers, sz.key, capture, sz.clock, base_delay=0
    ).deliver_once()
    return captured["body"], captured["headers"]


async def test_the_same_records_twice_count_once(regions):
    sz, bj = regions
    body, _ = await _signed_batch(sz, BJ_PAID[:3])
    for expected in ({"accepted": 3, "duplicates": 0}, {"accepted": 0, "duplicates": 3}):
        headers = sign_headers(sz.key, SZ, "POST", RECORDS_PATH, body, sz.clock())  # a fresh nonce
        assert await _post(bj.url, body, headers) == (200, expected)
    assert len(await received(bj)) == 3


async def test_a_replayed_request_is_refused(regions):
    sz, bj = regions
    body, headers = await _signed_batch(sz, BJ_PAID[:1])
    assert (await _post(bj.url, body, headers))[0] == 200
    status, problem = await _post(bj.url, body, headers)
    assert status == 409 and problem["type"].endswith("replayed_request")
    assert len(await received(bj)) == 1


async def test_a_forged_signature_is_refused(regions):
    sz, bj = regions
    body, _ = await _signed_batch(sz, BJ_PAID[:1])
    headers = sign_headers(generate_private_key(), SZ, "POST", RECORDS_PATH, body, sz.clock())
    status, problem = await _post(bj.url, body, headers)
    assert status == 401 and problem["type"].endswith("bad_signature") and problem["status"] == 401
    tampered = body.replace(b'"certified"', b'"suspended"', 1)
    _, good = await _signed_batch(sz, BJ_PAID[:1])
    assert (await _post(bj.url, tampered, good))[0] == 401
    assert await received(bj) == []


async def test_a_stale_request_is_refused(regions):
    sz, bj = regions
    body, _ = await _signed_batch(sz, BJ_PAID[:1])
    headers = sign_headers(sz.key, SZ, "POST", RECORDS_PATH, body, sz.clock() - timedelta(minutes=6))
    status, problem = await _post(bj.url, body, headers)
    assert status == 401 and problem["type"].endswith("stale_request")


async def test_an_unknown_region_is_refused(regions):
    sz, bj = regions
    body, _ = await _signed_batch(sz, BJ_PAID[:1])
    headers = sign_headers(sz.key, "999999", "POST", RECORDS_PATH, body, sz.clock())
    status, problem = await _post(bj.url, body, headers)
    assert status == 403 and problem["type"].endswith("unknown_region")


async def test_a_record_for_a_retiree_the_receiver_does_not_pay_is_refused(regions):
    sz, bj = regions
    stranger = "f" * 64
    await add_retirees(sz, [stranger], BJ, SZ)  # Shenzhen thinks Beijing pays; Beijing does not know them
    await certify_many(sz, [stranger])
    report = await sz.dispatcher.drain()
    assert report.deferred == 1 and report.refused == 0 and report.delivered == 0
    # tried again later (tests/faults/test_exchange_refusals.py), listed for staff in the end
    assert await outbox_states(sz) == {"deferred": 1}
    assert await received(bj) == []


async def test_a_malformed_body_is_refused(regions):
    sz, bj = regions
    for body in (b"not json", b'{"records": []}', json.dumps({"records": [{"record_id": 1}]}).encode()):
        headers = sign_headers(sz.key, SZ, "POST", RECORDS_PATH, body, sz.clock())
        status, problem = await _post(bj.url, body, headers)
        assert status == 400 and problem["type"].endswith("malformed_body"), body
    # a record whose content does not match its own hash
    body, _ = await _signed_batch(sz, BJ_PAID[:1])
    data = json.loads(body)
    data["records"][0]["method"] = "review"
    body = json.dumps(data).encode()
    headers = sign_headers(sz.key, SZ, "POST", RECORDS_PATH, body, sz.clock())
    status, problem = await _post(bj.url, body, headers)
    assert status == 400 and "hash" in problem["detail"]


async def test_a_10_mb_body_is_refused(regions):
    sz, bj = regions
    body = b"{" + b" " * (10 * 1024 * 1024) + b"}"
    headers = sign_headers(sz.key, SZ, "POST", RECORDS_PATH, body, sz.clock())
    status, problem = await _post(bj.url, body, headers)
    assert status == 413 and problem["type"].endswith("body_too_large")


async def test_openapi_is_served(regions):
    _, bj = regions
    async with aiohttp.ClientSession() as session:
        async with session.get(bj.url + "/openapi.json") as response:
            spec = await response.json()
    assert spec["openapi"].startswith("3.") and RECORDS_PATH in spec["paths"]
