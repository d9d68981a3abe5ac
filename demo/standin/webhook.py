"""Delivery of pending updates to the bot's webhook, one at a time, in order.

Like Telegram, an update is forgotten only once the bot's server answers 2xx; otherwise the
error is shown in getWebhookInfo and delivery is retried (after a short back-off: Telegram waits
longer, but tests should not).
"""

from __future__ import annotations

import json
import time

import aiohttp

from demo.standin.state import StandinState
from demo.standin.updates import Webhook

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
IDLE_WAIT = 5.0
MAX_BACKOFF = 5.0


async def deliver_forever(state: StandinState, http: aiohttp.ClientSession) -> None:
    """Run until the state closes; cancelled at shutdown."""
    queue = state.updates
    backoff = 0.2
    while not queue.closing:
        hook = queue.webhook
        if hook is None or not queue.pending:
            await queue.signal.wait(IDLE_WAIT)
            continue
        update = queue.pending[0]
        error = await _post(http, hook, update)
        if queue.webhook is not hook:
            continue
        if error is None:
            queue.remove(update["update_id"])
            backoff = 0.2
            continue
        hook.last_error_date, hook.last_error_message = int(time.time()), error
        await queue.signal.wait(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF)


async def _post(http: aiohttp.ClientSession, hook: Webhook, update: dict[str, object]) -> str | None:
    """POST one update; None on success, else the error text getWebhookInfo reports."""
    headers = {"Content-Type": "application/json"}
    if hook.secret_token:
        headers[SECRET_HEADER] = hook.secret_token
    try:
        async with http.post(
            hook.url, data=json.dumps(update), headers=headers, timeout=aiohttp.ClientTimeout(total=30)
        ) as response:
            await response.read()
            if 200 <= response.status < 300:
                return None
            return f"Wrong response from the webhook: {response.status} {response.reason}"
    except aiohttp.ClientConnectionError:
        return "Connection refused"
    except TimeoutError:
        return "Read timeout expired"
    except aiohttp.ClientError as error:
        return f"Connection error: {error}"
