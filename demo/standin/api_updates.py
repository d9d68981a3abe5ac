"""getUpdates long polling and the webhook methods."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from demo.standin.errors import ApiError, bad_request
from demo.standin.registry import Call, Described, method
from demo.standin.updates import POLL_CONFLICT, WEBHOOK_CONFLICT, Webhook

MAX_POLL_SECONDS = 120.0
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _allowed_updates(call: Call) -> None:
    allowed = call.params.json("allowed_updates")
    if allowed is not None:
        if not isinstance(allowed, list):
            raise bad_request("can't parse allowed updates")
        call.state.updates.allowed_updates = [str(kind) for kind in allowed]


@method("getUpdates")
async def get_updates(call: Call) -> list[dict[str, Any]]:
    """Answers at once when updates are pending, else as soon as one arrives or timeout passes."""
    queue = call.state.updates
    if queue.webhook is not None:
        raise ApiError(409, WEBHOOK_CONFLICT)
    offset = call.params.integer("offset")
    limit = min(max(call.params.integer("limit") or 100, 1), 100)
    timeout = min(max(call.params.number("timeout") or 0.0, 0.0), MAX_POLL_SECONDS)
    _allowed_updates(call)
    generation = queue.start_poll()
    if offset is not None:
        queue.confirm(offset)

    def ready() -> bool:
        superseded = queue.poll_generation != generation
        return bool(queue.pending) or superseded or queue.webhook is not None or queue.closing

    await queue.signal.wait_until(ready, timeout)
    if queue.poll_generation != generation:
        raise ApiError(409, POLL_CONFLICT)
    if queue.webhook is not None:
        raise ApiError(409, WEBHOOK_CONFLICT)
    return queue.pending[:limit]


@method("setWebhook")
async def set_webhook(call: Call) -> Described:
    """Telegram demands HTTPS on ports 443/80/88/8443; the stand-in takes any http(s) URL."""
    queue = call.state.updates
    url = call.params.text("url") or ""
    if call.params.flag("drop_pending_updates"):
        queue.drop_all()
    _allowed_updates(call)
    if not url:
        queue.webhook = None
        queue.signal.fire()
        return Described(True, "Webhook was deleted")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = call.params.text("secret_token")
    if secret is not None and not _SECRET.match(secret):
        raise bad_request("secret token contains unallowed characters")
    max_connections = call.params.integer("max_connections") or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    previous = queue.webhook
    queue.webhook = Webhook(
        url=url,
        secret_token=secret,
        max_connections=max_connections,
        ip_address=call.params.text("ip_address"),
        has_custom_certificate=call.params.has("certificate"),
    )
    queue.signal.fire()
    if previous is not None and previous.url == url:
        return Described(True, "Webhook is already set")
    return Described(True, "Webhook was set")


@method("deleteWebhook")
async def delete_webhook(call: Call) -> Described:
    queue = call.state.updates
    if call.params.flag("drop_pending_updates"):
        queue.drop_all()
    existed = queue.webhook is not None
    queue.webhook = None
    queue.signal.fire()
    return Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")


@method("getWebhookInfo")
async def get_webhook_info(call: Call) -> dict[str, Any]:
    queue = call.state.updates
    hook = queue.webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": bool(hook and hook.has_custom_certificate),
        "pending_update_count": len(queue.pending),
    }
    if hook is None:
        return info
    if hook.ip_address:
        info["ip_address"] = hook.ip_address
    if hook.last_error_date is not None:
        info["last_error_date"] = hook.last_error_date
        info["last_error_message"] = hook.last_error_message
    info["max_connections"] = hook.max_connections
    if queue.allowed_updates:
        info["allowed_updates"] = list(queue.allowed_updates)
    return info
