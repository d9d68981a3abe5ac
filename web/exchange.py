"""The exchange API over HTTP: POST /v1/records (signed batches of verification records from
other regions) and GET /openapi.json. Refusals are RFC 9457 problem details."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp import web

from verification.records.assistance import ASSISTANCE_PATH, AssistanceService
from verification.records.exchange import MAX_BODY, RECORDS_PATH, ExchangeError, ExchangeReceiver

logger = logging.getLogger(__name__)

OPENAPI_FILE = Path(__file__).with_name("static") / "exchange_openapi.json"
receiver_key = web.AppKey("exchange_receiver", ExchangeReceiver)
assistance_key = web.AppKey("assistance", AssistanceService)


def problem(error: ExchangeError) -> web.Response:
    return web.Response(
        status=error.status,
        text=json.dumps(error.problem(), ensure_ascii=False),
        content_type="application/problem+json",
    )


async def receive_records(request: web.Request) -> web.Response:
    try:
        body = await read_body(request)
        result = await request.app[receiver_key].take_in("POST", RECORDS_PATH, request.headers, body)
    except ExchangeError as error:
        if error.status >= 401:
            logger.info(
                "exchange request refused: %s (%s)", error.code, request.headers.get("X-Region", "")[:12]
            )
        return problem(error)
    return web.json_response({"accepted": result.accepted, "duplicates": result.duplicates})


async def read_body(request: web.Request) -> bytes:
    """The request's body, refused (413) above MAX_BODY."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ExchangeError(413, "body_too_large", f"a request body may be at most {MAX_BODY} bytes")
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ExchangeError(
            413, "body_too_large", f"a request body may be at most {MAX_BODY} bytes"
        ) from None


async def receive_assistance(request: web.Request) -> web.Response:
    try:
        body = await read_body(request)
        origin = await request.app[receiver_key].admit("POST", ASSISTANCE_PATH, request.headers, body)
        opened = await request.app[assistance_key].open(origin, body)
    except ExchangeError as error:
        return problem(error)
    status = 201 if opened.created else 200
    return web.json_response(
        {"id": opened.request_id, "created": opened.created, "state": "open"}, status=status
    )


async def openapi(_request: web.Request) -> web.Response:
    return web.Response(text=OPENAPI_FILE.read_text(), content_type="application/json")


def create_exchange_app(
    receiver: ExchangeReceiver, assistance: AssistanceService | None = None
) -> web.Application:
    # The limit is a little above MAX_BODY so that the handler, not aiohttp, words the refusal.
    app = web.Application(client_max_size=MAX_BODY + 1)
    app[receiver_key] = receiver
    app.router.add_post(RECORDS_PATH, receive_records)
    app.router.add_get("/openapi.json", openapi)
    if assistance is not None:
        app[assistance_key] = assistance
        app.router.add_post(ASSISTANCE_PATH, receive_assistance)
    return app


@asynccontextmanager
async def running_exchange(
    app: web.Application, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Serve `app` on host:port (0 = a free port); yields the base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        yield f"http://{host}:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


class HttpTransport:
    """The outbox worker's transport: one pooled aiohttp session, a timeout on every call."""

    def __init__(self, timeout: float = 30.0) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __call__(self, url: str, body: bytes, headers: dict) -> tuple[int, dict | None]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        async with self._session.post(url, data=body, headers=headers) as response:
            try:
                answer = await response.json(content_type=None)
            except (ValueError, aiohttp.ContentTypeError):
                answer = None
            return response.status, answer if isinstance(answer, dict) else None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
