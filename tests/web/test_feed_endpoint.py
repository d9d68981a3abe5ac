"""POST /v1/feeds/SOURCE over real HTTP on loopback: a signed feed from an agency is imported;
unsigned, forged, replayed, not-allowed, malformed, oversized and repeated feeds are refused
with a problem detail and change nothing."""

from __future__ import annotations

import base64
import json
from datetime import date

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from storage.models.signals import LifeSignal
from tests.cycle.factories import FakeClock
from tests.signals.factories import add_retiree, importer
from verification.records.exchange import ExchangeReceiver, generate_private_key, public_key_b64, sign_headers
from verification.signals.agencies import AgencyError, FeedAgencies
from web.exchange import running_exchange
from web.feeds import add_feed_routes

AGENCY = "YB4403"
PATH = "/v1/feeds/medical_settlement"


@pytest.fixture
async def endpoint(uow_factory, vault):
    clock = FakeClock(date(2026, 11, 20))
    key = generate_private_key()
    agencies = FeedAgencies.from_mapping(
        {"agencies": {AGENCY: {"public_key": public_key_b64(key), "sources": ["medical_settlement"]}}}
    )
    app = web.Application()
    gate = ExchangeReceiver(uow_factory, "440300", agencies.signers, clock)
    add_feed_routes(app, importer(uow_factory, vault, clock), agencies, gate)
    async with running_exchange(app) as url, aiohttp.ClientSession() as session:

        async def post(path: str, payload, *, signer=key, agency=AGENCY, headers=None):
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            headers = headers or sign_headers(signer, agency, "POST", path, body, clock())
            async with session.post(url + path, data=body, headers=headers) as response:
                return response.status, await response.json(content_type=None), headers

        yield post


async def _signals(uow_factory) -> int:
    async with uow_factory() as uow:
        return await uow.session.scalar(select(func.count()).select_from(LifeSignal))


async def test_a_signed_feed_is_imported_and_every_bad_request_refused(endpoint, uow_factory, vault):
    _, number = await add_retiree(uow_factory, vault, due_on=date(2026, 12, 5))
    feed = {
        "name": "settlements 11-19",
        "records": [{"id_number": number, "day": "2026-11-19"}, {"id_number": "123", "day": "2026-11-19"}],
    }

    status, report, headers = await endpoint(PATH, feed)
    assert status == 200
    assert (report["kept"], report["certified"], report["refused"]) == (
        1,
        1,
        [{"row": 2, "codes": ["wrong_length"]}],
    )
    assert number not in json.dumps(report)

    body = json.dumps(feed).encode()
    replayed = await endpoint(PATH, body, headers=headers)
    assert (replayed[0], replayed[1]["type"]) == (409, "urn:pension-bot:exchange:replayed_request")
    again = await endpoint(PATH, feed)  # a new signature, the same feed
    assert (again[0], again[1]["type"]) == (409, "urn:pension-bot:exchange:feed_already_imported")
    forged = await endpoint(PATH, {**feed, "name": "x"}, signer=generate_private_key())
    assert (forged[0], forged[1]["type"]) == (401, "urn:pension-bot:exchange:bad_signature")
    unsigned = await endpoint(PATH, feed, headers={"Content-Type": "application/json"})
    assert unsigned[0] == 401
    stranger = await endpoint(PATH, {**feed, "name": "y"}, agency="MZ4403")
    assert (stranger[0], stranger[1]["type"]) == (403, "urn:pension-bot:exchange:unknown_region")
    deaths = await endpoint("/v1/feeds/death_household", {**feed, "name": "z"})
    assert (deaths[0], deaths[1]["type"]) == (403, "urn:pension-bot:exchange:source_not_allowed")
    malformed = await endpoint(PATH, {"name": "m", "records": "all of them"})
    assert (malformed[0], malformed[1]["type"]) == (400, "urn:pension-bot:exchange:malformed_feed")
    not_json = await endpoint(PATH, b"\x00\xff not json")
    assert not_json[0] == 400
    empty = await endpoint(PATH, {"name": "e", "records": []})
    assert (empty[0], empty[1]["type"]) == (422, "urn:pension-bot:exchange:no_data_rows")
    too_many = await endpoint(PATH, {"name": "t", "records": [{}] * 50_001})
    assert too_many[0] == 413
    assert await _signals(uow_factory) == 1


def test_a_malformed_agencies_file_is_refused():
    with pytest.raises(AgencyError):
        FeedAgencies.from_mapping({"agencies": {"yb": {"public_key": "x", "sources": []}}})
    with pytest.raises(AgencyError):
        FeedAgencies.from_mapping(
            {"agencies": {"YB4403": {"public_key": base64.b64encode(b"short").decode(), "sources": []}}}
        )
