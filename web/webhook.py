"""The webhook endpoint: Telegram POSTs updates here with the secret token we gave it.

A request without the right secret is refused and recorded; it never reaches the bot.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from telegram import Update
from telegram.ext import Application

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
MAX_UPDATE_BYTES = 1024 * 1024  # an update is JSON metadata; files are fetched separately

application_key = web.AppKey("application", Application)
secret_key = web.AppKey("secret", str)
refusal_recorder_key = web.AppKey("refusal_recorder", Callable[[str, str], Awaitable[None]])


async def receive_update(request: web.Request) -> web.Response:
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(given.encode(), request.app[secret_key].encode()):
        await request.app[refusal_recorder_key]("forged_webhook_request", f"from {request.remote}")
        return web.json_response({"ok": False, "description": "forbidden"}, status=403)
    try:
        payload = await request.json()
        application = request.app[application_key]
        update = Update.de_json(payload, application.bot)
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
        await request.app[refusal_recorder_key]("malformed_update", "")
        return web.json_response({"ok": False, "description": "malformed update"}, status=400)
    await application.update_queue.put(update)
    return web.json_response({"ok": True})


def create_webhook_app(
    application: Application,
    secret: str,
    record_refusal: Callable[[str, str], Awaitable[None]],
) -> web.Application:
    app = web.Application(client_max_size=MAX_UPDATE_BYTES)
    app[application_key] = application
    app[secret_key] = secret
    app[refusal_recorder_key] = record_refusal
    app.router.add_post(WEBHOOK_PATH, receive_update)
    return app
