"""Private chats and their message history, as both sides see it.

The stand-in keeps the *conversation*, not just the Bot API traffic: the demo page and the
end-to-end tests read it back to see what the bot said, including later edits (stored in place
with a revision counter) and the reply keyboard the user currently has on screen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StoredMessage:
    """One message: its Bot API JSON plus what the Bot API does not echo back."""

    data: dict[str, Any]
    from_bot: bool
    reply_keyboard: dict[str, Any] | None = None
    """ReplyKeyboardMarkup / ReplyKeyboardRemove / ForceReply sent with it (Telegram omits these)."""
    edited: bool = False
    revision: int = 0
    version: int = 0
    """The chat's version when this message last changed, for incremental polling."""

    @property
    def message_id(self) -> int:
        return int(self.data["message_id"])


@dataclass
class Chat:
    """A private chat: chat id == user id."""

    user: dict[str, Any]
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    blocked: bool = False
    keyboard: dict[str, Any] | None = None
    """The reply keyboard currently shown to the user, if any."""
    callback_answers: list[dict[str, Any]] = field(default_factory=list)
    chat_action: dict[str, Any] | None = None
    version: int = 0
    next_message_id: int = 1

    @property
    def id(self) -> int:
        return int(self.user["id"])

    def json(self) -> dict[str, Any]:
        """The ``Chat`` object inside messages."""
        chat: dict[str, Any] = {"id": self.id, "first_name": self.user["first_name"]}
        for optional in ("last_name", "username"):
            if self.user.get(optional):
                chat[optional] = self.user[optional]
        chat["type"] = "private"
        return chat

    def append(self, content: dict[str, Any], sender: dict[str, Any], *, from_bot: bool) -> StoredMessage:
        """Store a new message with the next id of this chat."""
        data = {
            "message_id": self.next_message_id,
            "from": sender,
            "chat": self.json(),
            "date": int(time.time()),
            **content,
        }
        self.next_message_id += 1
        stored = StoredMessage(data=data, from_bot=from_bot)
        self.messages[stored.message_id] = stored
        self.touch(stored)
        return stored

    def touch(self, stored: StoredMessage | None = None) -> None:
        """Bump the chat version (and the message's), so pollers notice the change."""
        self.version += 1
        if stored is not None:
            stored.version = self.version

    def bot_message(self, message_id: int) -> StoredMessage | None:
        stored = self.messages.get(message_id)
        return stored if stored is not None and stored.from_bot else None
