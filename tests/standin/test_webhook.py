"""Webhook delivery: POSTs with the secret header, 409 for getUpdates, errors in getWebhookInfo."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import Bot, Update
from telegram.error import Conflict
from telegram.ext import MessageHandler, filters

from demo.standin.client import StandinClient
from demo.standin.server import RunningStandin
from demo.standin.webhook import SECRET_HEADER
from tests.standin.helpers import CHAT_ID, assert_clean, build_application


class Receiver:
    """A tiny webhook endpoint on another loopback port that records what it is sent."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: asyncio.Queue[tuple[dict[str, str], dict[str, object]]] = asyncio.Queue()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        await self.received.put((dict(request.headers), await request.json()))
        return web.Response(status=self.status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    hook.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield hook
    await runner.cleanup()


async def test_updates_are_posted_with_the_secret_and_get_updates_conflicts(
    bot: Bot, client: StandinClient, receiver: Receiver
) -> None:
    assert await bot.set_webhook(receiver.url, secret_token="s3cret_token-1") is True
    info = await bot.get_webhook_info()
    assert_clean(info)
    assert info.url == receiver.url and info.pending_update_count == 0

    sent = await client.send_text(CHAT_ID, "/start")
    headers, body = await asyncio.wait_for(receiver.received.get(), 5)
    assert headers[SECRET_HEADER] == "s3cret_token-1"
    assert headers["Content-Type"].startswith("application/json")
    update = Update.de_json(body, bot)
    assert_clean(update)
    assert update.update_id == sent["update_id"] and update.message.text == "/start"

    with pytest.raises(Conflict, match="(?i)webhook is active"):
        await bot.get_updates()

    assert await bot.delete_webhook() is True
    await client.send_text(CHAT_ID, "polled")
    assert [u.message.text for u in await bot.get_updates()] == ["polled"]


async def test_failed_delivery_is_reported_and_retried(
    bot: Bot, client: StandinClient, receiver: Receiver
) -> None:
    receiver.status = 500
    await bot.set_webhook(receiver.url)
    await client.send_text(CHAT_ID, "hi")
    await asyncio.wait_for(receiver.received.get(), 5)
    info = await bot.get_webhook_info()
    while info.last_error_message is None:  # the error is recorded right after the 500 is read
        await asyncio.sleep(0.01)
        info = await bot.get_webhook_info()
    assert info.pending_update_count == 1
    assert "500" in info.last_error_message

    receiver.status = 200
    _, body = await asyncio.wait_for(receiver.received.get(), 5)
    assert json.loads(json.dumps(body))["message"]["text"] == "hi"  # the same update, redelivered


async def test_drop_pending_updates(bot: Bot, client: StandinClient, receiver: Receiver) -> None:
    await client.send_text(CHAT_ID, "old")
    await bot.set_webhook(receiver.url, drop_pending_updates=True)
    await bot.delete_webhook()
    assert await bot.get_updates() == ()
    await client.send_text(CHAT_ID, "kept")
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()


async def test_application_fed_by_an_aiohttp_webhook(standin: RunningStandin, client: StandinClient) -> None:
    """PTB's custom-webhook pattern (no tornado extra installed): aiohttp receives, checks the
    secret, and feeds ``application.update_queue``; a handler sees the update and replies."""
    application = build_application(standin)

    async def echo(update: Update, context: object) -> None:
        await update.message.reply_text(f"echo: {update.message.text}")

    application.add_handler(MessageHandler(filters.TEXT, echo))

    async def webhook(request: web.Request) -> web.Response:
        if request.headers.get(SECRET_HEADER) != "app-secret":
            return web.Response(status=403)
        await application.update_queue.put(Update.de_json(await request.json(), application.bot))
        return web.Response()

    app = web.Application()
    app.router.add_post("/tg", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        async with application:
            await application.start()
            await application.bot.set_webhook(
                f"http://127.0.0.1:{runner.addresses[0][1]}/tg", secret_token="app-secret"
            )
            sent = await client.send_text(CHAT_ID, "via webhook")
            [reply] = await client.wait_for_bot_messages(CHAT_ID, sent["message"]["message_id"])
            assert reply["text"] == "echo: via webhook"
            assert (await application.bot.get_webhook_info()).pending_update_count == 0
            await application.stop()
    finally:
        await runner.cleanup()
