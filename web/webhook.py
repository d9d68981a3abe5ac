"""The webhook endpoint: Telegram POSTs updates here with the secret token we gave it.

A request without the right secret is refused (403) and counted, a bounded sample of the
refusals recorded (web/update_guard.py); it never reaches the bot. A body that is not an
update is refused with 400, one over MAX_UPDATE_BYTES with 413. An accepted update is
delivered (`Deliver`) before the 200: into this process's bot (`into_application`: stored in
its inbox first), or onto the broker (broker/ingress.py) when the webhook runs as a stateless
ingress; when delivery fails the answer is 503 and Telegram sends the update again.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from telegram import Bot, Update
from telegram.ext import Application

from bot.inbox import admit
from web.update_guard import (
    MALFORMED_BODY,
    MISSING_SECRET,
    TOO_LARGE,
    WRONG_SECRET,
    MalformedUpdate,
    RefusalCounter,
    parse_update,
)

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
MAX_UPDATE_BYTES = 1024 * 1024  # an update is JSON metadata; files are fetched separately

# Hands an accepted update (and its JSON) on; returns once it is safe to answer 200.
Deliver = Callable[[Update, dict], Awaitable[None]]

# Neither a callable type nor an optional one is a class: their keys are typed by annotation.
deliver_key: web.AppKey[Deliver] = web.AppKey("deliver")
bot_key: web.AppKey[Bot | None] = web.AppKey("bot")
secret_key = web.AppKey("secret", str)
# Refused requests counted by reason (RefusalCounter.counts / .snapshot()), a sample recorded.
refusals_key = web.AppKey("webhook_refusals", RefusalCounter)


def to_update(payload: dict, bot: Bot | None) -> Update:
    """PTB's Update for a payload `parse_update` accepted; MalformedUpdate if PTB refuses it."""
    try:
        return Update.de_json(payload, bot)
    except Exception as error:  # noqa: BLE001 - whatever PTB raises on a bad shape is a 400
        raise MalformedUpdate(f"refused by PTB ({type(error).__name__})") from None


async def receive_update(request: web.Request) -> web.Response:
    refusals = request.app[refusals_key]
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(given.encode(), request.app[secret_key].encode()):
        reason = WRONG_SECRET if given else MISSING_SECRET
        await refusals.refuse(reason, "forged_webhook_request", f"{reason} from {request.remote}")
        return web.json_response({"ok": False, "description": "forbidden"}, status=403)
    try:
        size = request.content_length or 0
        if size > MAX_UPDATE_BYTES:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_UPDATE_BYTES, actual_size=size)
        payload = parse_update(await request.read())
        update = to_update(payload, request.app[bot_key])
    except web.HTTPRequestEntityTooLarge:
        await refusals.refuse(TOO_LARGE, "oversized_update", f"over {MAX_UPDATE_BYTES} bytes")
        return web.json_response({"ok": False, "description": "update too large"}, status=413)
    except MalformedUpdate as error:
        await refusals.refuse(MALFORMED_BODY, "malformed_update", str(error))
        return web.json_response({"ok": False, "description": "malformed update"}, status=400)
    try:
        await request.app[deliver_key](update, payload)
    except Exception as error:  # noqa: BLE001 - the database or broker is away: Telegram retries after a 5xx
        logger.warning("webhook update not delivered (%s); answered 503", type(error).__name__)
        return web.json_response({"ok": False, "description": "try again later"}, status=503)
    return web.json_response({"ok": True})


async def register_webhook(bot: Bot, public_url: str, secret: str) -> None:
    """Tells Telegram to post every kind of update to this server's webhook with `secret`
    (idempotent: every replica of an ingress may call it)."""
    await bot.set_webhook(
        url=public_url.rstrip("/") + WEBHOOK_PATH, secret_token=secret, allowed_updates=Update.ALL_TYPES
    )


def into_application(application: Application) -> Deliver:
    """Delivery into this process's bot: stored in its inbox first (bot/inbox.py), or, for an
    application without one, straight into its update queue."""

    async def deliver(update: Update, payload: dict) -> None:
        inbox = getattr(application, "inbox", None)
        if inbox is None:
            await application.update_queue.put(update)
        else:
            await admit(application, inbox, [update], [payload])

    return deliver


def create_webhook_app(
    deliver: Deliver,
    secret: str,
    record_refusal: Callable[[str, str], Awaitable[None]],
    *,
    bot: Bot | None = None,
) -> web.Application:
    """`bot` is the one the updates' objects are bound to (None on an ingress that only
    publishes them)."""
    app = web.Application(client_max_size=MAX_UPDATE_BYTES)
    app[deliver_key] = deliver
    app[bot_key] = bot
    app[secret_key] = secret
    app[refusals_key] = refusals = RefusalCounter(record_refusal)
    app.on_cleanup.append(lambda _app: refusals.flush())  # the summary of what was not sampled
    app.router.add_post(WEBHOOK_PATH, receive_update)
    return app
