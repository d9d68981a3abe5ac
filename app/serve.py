"""Running the bot until told to stop: long polling, or a webhook behind aiohttp."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from app.console_app import mount_console
from app.inbox_poller import durable_updates
from app.wiring import Runtime
from bot.application import publish_commands
from storage.errors import record_error
from web.webhook import create_webhook_app, into_application, register_webhook

logger = logging.getLogger(__name__)


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)


@asynccontextmanager
async def serving(application: Application, *, polling: dict | None = None) -> AsyncIterator[Application]:
    """The application started (and polling, with those options), stopped on the way out.

    An application built with an update inbox polls through it (app/inbox_poller.py: an
    update is stored before it is confirmed to Telegram) and hands over what a crash or an
    outage left pending; one without polls with PTB's Updater."""
    inbox = getattr(application, "inbox", None)  # bot/inbox.py: durable updates
    async with application:
        updater = application.updater
        if polling is not None and inbox is None:
            assert updater is not None  # build_application gives polling applications PTB's Updater
            await updater.start_polling(allowed_updates=Update.ALL_TYPES, **polling)
        await application.start()
        await publish_commands(application)
        try:
            if inbox is None:
                yield application
            else:
                async with durable_updates(application, inbox, polling=polling):
                    yield application
        finally:
            if updater is not None and polling is not None and inbox is None:
                await updater.stop()
            await application.stop()


async def poll_until(application: Application, stop: asyncio.Event) -> None:
    async with serving(application, polling={"timeout": 20}):
        await stop.wait()


@asynccontextmanager
async def console_site(runtime: Runtime) -> AsyncIterator[str]:
    """The web console alone on LISTEN_HOST:LISTEN_PORT, for a bot that polls (a webhook
    deployment serves it beside the webhook instead). Yields its address."""
    site_app = web.Application()
    mount_console(site_app, runtime)
    runner = web.AppRunner(site_app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, runtime.settings.listen_host, runtime.settings.listen_port).start()
        yield f"http://{runtime.settings.listen_host}:{runtime.settings.listen_port}/console/"
    finally:
        await runner.cleanup()


async def webhook_until(application: Application, runtime: Runtime, stop: asyncio.Event) -> None:
    settings = runtime.settings
    if not settings.webhook_url:
        raise SystemExit("Webhook mode needs WEBHOOK_URL (the public HTTPS address of this server).")
    secret = (
        settings.webhook_secret.get_secret_value() if settings.webhook_secret else secrets.token_urlsafe(32)
    )

    async def record_refusal(code: str, detail: str) -> None:
        logger.warning("webhook request refused: %s", code)
        await record_error(runtime.uow_factory, "webhook", code, detail)

    site_app = create_webhook_app(into_application(application), secret, record_refusal, bot=application.bot)
    mount_console(site_app, runtime)  # staff open the console at /console beside the webhook
    runner = web.AppRunner(site_app)
    await runner.setup()
    await web.TCPSite(runner, settings.listen_host, settings.listen_port).start()
    try:
        async with serving(application):
            await register_webhook(application.bot, settings.webhook_url, secret)
            await stop.wait()
    finally:
        await runner.cleanup()
