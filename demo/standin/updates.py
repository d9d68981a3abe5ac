"""The bot's pending updates, shared by getUpdates and webhook delivery.

Telegram keeps one queue per bot: getUpdates confirms updates by ``offset`` (everything below it
is forgotten), a webhook removes an update once the bot's server answered 2xx, and
``allowed_updates`` filters which kinds are queued at all. While a webhook is set, getUpdates is
refused with 409.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from demo.standin.waiting import Signal

DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
        "business_message", "edited_business_message", "deleted_business_messages", "inline_query",
        "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
        "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "chat_join_request",
        "chat_boost", "removed_chat_boost",
    }
)  # fmt: skip
"""What Telegram sends when allowed_updates is empty: all but chat_member and reactions."""

WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)


@dataclass
class Webhook:
    """The webhook as set by setWebhook, plus delivery errors for getWebhookInfo."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    has_custom_certificate: bool = False
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class UpdateQueue:
    """Pending updates in update_id order, with a signal fired whenever something changes."""

    pending: list[dict[str, Any]] = field(default_factory=list)
    allowed_updates: list[str] = field(default_factory=list)
    webhook: Webhook | None = None
    signal: Signal = field(default_factory=Signal)
    poll_generation: int = 0
    closing: bool = False
    first_id: int = 1
    _ids: itertools.count[int] = field(init=False)

    def __post_init__(self) -> None:
        self._ids = itertools.count(self.first_id)

    def allows(self, kind: str) -> bool:
        return kind in self.allowed_updates if self.allowed_updates else kind in DEFAULT_ALLOWED_UPDATES

    def push(self, kind: str, payload: dict[str, Any]) -> int:
        """Create an update of ``kind``; it is queued only if allowed_updates lets it through."""
        update_id = next(self._ids)
        if self.allows(kind):
            self.pending.append({"update_id": update_id, kind: payload})
            self.signal.fire()
        return update_id

    def confirm(self, offset: int) -> None:
        """getUpdates' offset: forget every update below it; a negative one keeps the last -offset."""
        if offset < 0:
            del self.pending[: max(0, len(self.pending) + offset)]
        else:
            self.pending = [update for update in self.pending if update["update_id"] >= offset]

    def drop_all(self) -> None:
        """drop_pending_updates."""
        self.pending.clear()

    def remove(self, update_id: int) -> None:
        """Forget one update after its webhook delivery succeeded."""
        self.pending = [update for update in self.pending if update["update_id"] != update_id]

    def start_poll(self) -> int:
        """Register a new getUpdates; any earlier one still waiting ends with 409, as on Telegram."""
        self.poll_generation += 1
        self.signal.fire()
        return self.poll_generation

    def close(self) -> None:
        """Release every long poll so the server can shut down at once."""
        self.closing = True
        self.signal.fire()
