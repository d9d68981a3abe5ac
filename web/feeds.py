"""POST /v1/feeds/{source}: another agency's system sends a feed, signed (see
verification/signals/agencies.py). The body is JSON:

    {"name": "2026-11-28 settlements", "records": [{"id_number": "...", "day": "2026-11-27"}]}

The answer is the import's report: counts, and each refused row by number and reason code
(never an ID number). Refusals are RFC 9457 problem details, like the exchange's.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from verification.records.exchange import ExchangeError, ExchangeReceiver, load_body
from verification.roster.reader import RosterFileError
from verification.signals.agencies import FeedAgencies
from verification.signals.service import FeedImporter, FeedRefused
from verification.signals.sources import SourceError
from web.exchange import problem, read_body

logger = logging.getLogger(__name__)

FEEDS_PATH = "/v1/feeds/{source}"
MAX_FEED_RECORDS = 50_000
feeds_key = web.AppKey("feeds", FeedImporter)
agencies_key = web.AppKey("feed_agencies", FeedAgencies)
gate_key = web.AppKey("feed_gate", ExchangeReceiver)


def add_feed_routes(
    app: web.Application, feeds: FeedImporter, agencies: FeedAgencies, gate: ExchangeReceiver
) -> None:
    """`gate` checks signatures and spends nonces; it is an ExchangeReceiver over the agencies."""
    app[feeds_key], app[agencies_key], app[gate_key] = feeds, agencies, gate
    app.router.add_post(FEEDS_PATH, receive_feed)


async def receive_feed(request: web.Request) -> web.Response:
    source = request.match_info["source"]
    try:
        body = await read_body(request)
        agency = await request.app[gate_key].admit("POST", request.path, request.headers, body)
        if not request.app[agencies_key].may_send(agency, source):
            raise ExchangeError(
                403, "source_not_allowed", f"agency {agency} may not send the source {source[:40]!r}"
            )
        name, records = _parse(load_body(body))
        report = await request.app[feeds_key].import_records(records, source, f"{agency}:{name}")
    except ExchangeError as error:
        if error.status >= 401:
            logger.info("feed refused: %s (%s)", error.code, request.headers.get("X-Region", "")[:12])
        return problem(error)
    except SourceError:
        return problem(ExchangeError(404, "unknown_source", f"no source {source[:40]!r}"))
    except FeedRefused as error:
        return problem(ExchangeError(409, error.code, "this feed was imported completely before"))
    except RosterFileError as error:
        return problem(ExchangeError(422, error.code, error.message("en")))
    return web.json_response(report.as_dict())


def _parse(data: Any) -> tuple[str, list[dict[str, Any]]]:
    if not isinstance(data, dict) or not isinstance(data.get("records"), list):
        raise ExchangeError(400, "malformed_feed", 'the body is {"name": ..., "records": [...]}')
    records = data["records"]
    if len(records) > MAX_FEED_RECORDS:
        raise ExchangeError(413, "too_many_records", f"at most {MAX_FEED_RECORDS} records a request")
    if not all(isinstance(record, dict) for record in records):
        raise ExchangeError(400, "malformed_feed", "each record is an object with id_number and day")
    name = data.get("name")
    return (name if isinstance(name, str) else "feed")[:200], records
