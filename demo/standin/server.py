"""Building and running the stand-in as an aiohttp application.

:func:`create_app` gives a ready application (the demo may add its own routes before starting
it); :func:`add_standin_routes` mounts the stand-in on an application someone else owns;
:func:`running_standin` serves it on a free loopback port for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from demo.standin import botapi, control
from demo.standin.appkeys import HTTP_KEY, STATE_KEY
from demo.standin.state import StandinState
from demo.standin.webhook import deliver_forever

MAX_BODY_BYTES = 2 * 1024 * 1024
"""For JSON and form bodies; multipart uploads are streamed with their own 50 MB cap."""


async def _bot_api(request: web.Request) -> web.Response:
    return await botapi.handle_bot_api(request, request.app[STATE_KEY], request.app.get(HTTP_KEY))


async def _download(request: web.Request) -> web.Response:
    return botapi.download(request, request.app[STATE_KEY])


async def _background(app: web.Application) -> AsyncIterator[None]:
    """Outgoing HTTP session and the webhook sender live exactly as long as the app."""
    state = app[STATE_KEY]
    async with aiohttp.ClientSession() as http:
        app[HTTP_KEY] = http
        sender = asyncio.create_task(deliver_forever(state, http), name="standin-webhook")
        yield
        state.close()
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender


async def _release_waiters(app: web.Application) -> None:
    """On shutdown, end long polls at once instead of letting them run out their timeout."""
    app[STATE_KEY].close()


def add_standin_routes(app: web.Application, state: StandinState) -> None:
    """Mount the Bot API, file downloads and the control API on ``app`` (before it starts)."""
    app[STATE_KEY] = state
    app.router.add_route("*", "/bot{token}/{method}", _bot_api)
    app.router.add_get("/file/bot{token}/{file_path:.+}", _download)
    app.router.add_routes(control.routes)
    app.cleanup_ctx.append(_background)
    app.on_shutdown.append(_release_waiters)


def create_app(
    tokens: Iterable[str] | None = None,
    *,
    bot_username: str = "pension_demo_bot",
    state: StandinState | None = None,
) -> web.Application:
    """A stand-in application; ``tokens`` None accepts any well-formed token."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    add_standin_routes(app, state or StandinState(tokens, bot_username=bot_username))
    return app


@dataclass
class RunningStandin:
    """A served stand-in: the URLs to hand to PTB and the state to inspect."""

    app: web.Application
    base_url: str

    @property
    def state(self) -> StandinState:
        return self.app[STATE_KEY]

    @property
    def bot_base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` / ``Bot(base_url=...)``."""
        return f"{self.base_url}/bot"

    @property
    def file_base_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)`` / ``Bot(base_file_url=...)``."""
        return f"{self.base_url}/file/bot"

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])


@contextlib.asynccontextmanager
async def running_standin(
    tokens: Iterable[str] | None = None,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    bot_username: str = "pension_demo_bot",
    app: web.Application | None = None,
) -> AsyncIterator[RunningStandin]:
    """Serve the stand-in (or ``app``, built with :func:`create_app`) on ``host:port``; 0 = free port."""
    app = app if app is not None else create_app(tokens, bot_username=bot_username)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        yield RunningStandin(app=app, base_url=f"http://{host}:{bound_port}")
    finally:
        await runner.cleanup()
