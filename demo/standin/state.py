"""Everything the stand-in knows, in one object a test can also inspect in-process.

Both the Bot API handlers (the bot's side) and the control API (the user's side) go through the
methods here, so the two views of a conversation cannot drift apart.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from demo.standin.calls import CallLog, FaultBook
from demo.standin.chats import Chat, StoredMessage
from demo.standin.errors import BOT_BLOCKED, CHAT_NOT_FOUND, bad_request, forbidden
from demo.standin.files import FileStore
from demo.standin.formatting import command_entities
from demo.standin.updates import UpdateQueue
from demo.standin.waiting import Signal

TOKEN_PATTERN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
DEFAULT_USER_NAME = "Demo user"
DEFAULT_LANGUAGE = "zh-hans"


class ControlError(Exception):
    """A refused control API request (answered as ``{"error": message}`` with ``status``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class CallbackQuery:
    """A pressed inline button awaiting answerCallbackQuery."""

    id: str
    chat_id: int
    message_id: int
    answered: bool = False


class StandinState:
    """Chats, pending updates, files, commands, the call log and injected faults."""

    def __init__(
        self,
        tokens: Iterable[str] | None = None,
        *,
        bot_username: str = "pension_demo_bot",
        bot_first_name: str = "Pension Demo Bot",
        first_id: int = 1,
    ) -> None:
        """`first_id`: the first update id and each chat's first message id; above those of an
        earlier run beside the same database (demo/standin_ids.py)."""
        self.tokens = frozenset(tokens) if tokens is not None else None
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.chats: dict[int, Chat] = {}
        self.files = FileStore()
        self.first_id = first_id
        self.updates = UpdateQueue(first_id=first_id)
        self.calls = CallLog()
        self.faults = FaultBook()
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.commands: dict[str, list[dict[str, str]]] = {}
        self.changed = Signal()
        """Fired on any chat change; the control API's ``wait=`` sleeps on it."""
        self._callback_ids = itertools.count(1)

    # --- the bot --------------------------------------------------------------------------

    def accepts(self, token: str) -> bool:
        """Tokens given at creation, or any well-formed token when none were given."""
        return token in self.tokens if self.tokens is not None else bool(TOKEN_PATTERN.match(token))

    def bot_user(self, token: str) -> dict[str, Any]:
        """The bot's ``User``: its id is the number before ':' in the token."""
        return {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # --- chats -------------------------------------------------------------------------------

    def chat(self, chat_id: int) -> Chat | None:
        return self.chats.get(chat_id)

    def writable_chat(self, chat_id: int) -> Chat:
        """The chat a bot call targets: 400 when unknown, 403 when the user blocked the bot."""
        chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request(CHAT_NOT_FOUND)
        if chat.blocked:
            raise forbidden(BOT_BLOCKED)
        return chat

    def user_json(self, chat_id: int, user: dict[str, Any] | None) -> dict[str, Any]:
        """A ``User`` from the control API's optional user object, with the documented defaults."""
        user = dict(user or {})
        result: dict[str, Any] = {
            "id": int(user.get("id", chat_id)),
            "is_bot": False,
            "first_name": str(user.get("first_name") or DEFAULT_USER_NAME),
        }
        for optional in ("last_name", "username"):
            if user.get(optional):
                result[optional] = str(user[optional])
        result["language_code"] = str(user.get("language_code") or DEFAULT_LANGUAGE)
        return result

    def open_chat(self, chat_id: int, user: dict[str, Any] | None = None) -> Chat:
        """The private chat with this user, created on first contact."""
        sender = self.user_json(chat_id, user)
        if sender["id"] != chat_id:
            raise ControlError(400, "private chats only: user.id must equal chat_id")
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = Chat(user=sender, next_message_id=self.first_id)
        elif user:
            chat.user = sender
        return chat

    def set_blocked(self, chat_id: int, blocked: bool) -> Chat:
        chat = self.open_chat(chat_id)
        chat.blocked = blocked
        chat.touch()
        self.changed.fire()
        return chat

    # --- the user's side ---------------------------------------------------------------------

    def user_message(
        self, chat_id: int, content: dict[str, Any], user: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """The user sends a message: store it and queue a ``message`` update."""
        chat = self.open_chat(chat_id, user)
        if chat.blocked:
            raise ControlError(409, "the user blocked the bot; POST /control/chats/{id}/unblock first")
        if "text" in content:
            entities = command_entities(content["text"])
            if entities:
                content = {**content, "entities": entities}
        stored = chat.append(content, chat.user, from_bot=False)
        if chat.keyboard and chat.keyboard.get("one_time_keyboard"):
            chat.keyboard = None
        update_id = self.updates.push("message", stored.data)
        self.changed.fire()
        return update_id, stored.data

    def press_button(
        self, chat_id: int, message_id: int, data: str, user: dict[str, Any] | None = None
    ) -> tuple[int, str]:
        """The user presses an inline button: queue a ``callback_query`` update."""
        chat = self.open_chat(chat_id, user)
        stored = chat.bot_message(message_id)
        if stored is None:
            raise ControlError(404, f"no bot message {message_id} in chat {chat_id}")
        query_id = f"{chat_id}{next(self._callback_ids):06d}{secrets.randbelow(10**6):06d}"
        self.callback_queries[query_id] = CallbackQuery(query_id, chat_id, message_id)
        query = {
            "id": query_id,
            "from": chat.user,
            "message": stored.data,
            "chat_instance": str((chat_id * 2654435761) % 10**19),
            "data": data,
        }
        return self.updates.push("callback_query", query), query_id

    # --- the bot's side ----------------------------------------------------------------------

    def bot_message(
        self,
        chat: Chat,
        sender: dict[str, Any],
        content: dict[str, Any],
        reply_keyboard: dict[str, Any] | None = None,
    ) -> StoredMessage:
        """The bot sends a message; a reply keyboard (or its removal) changes what the user sees."""
        stored = chat.append(content, sender, from_bot=True)
        if reply_keyboard is not None:
            stored.reply_keyboard = reply_keyboard
            if "keyboard" in reply_keyboard:
                chat.keyboard = reply_keyboard
            elif reply_keyboard.get("remove_keyboard"):
                chat.keyboard = None
        chat.chat_action = None
        self.changed.fire()
        return stored

    def edit_message(
        self, chat: Chat, stored: StoredMessage, changes: dict[str, Any], drop: Iterable[str]
    ) -> None:
        """Apply an edit in place; revision and edit_date move on as on Telegram."""
        for key in drop:
            stored.data.pop(key, None)
        stored.data.update(changes)
        stored.data["edit_date"] = int(time.time())
        stored.edited = True
        stored.revision += 1
        chat.touch(stored)
        self.changed.fire()

    def answer_callback(self, query: CallbackQuery, answer: dict[str, Any]) -> None:
        """Record answerCallbackQuery's text so the page can show the toast or alert."""
        query.answered = True
        chat = self.chats[query.chat_id]
        chat.callback_answers.append(
            {"kind": "callback_answer", "callback_query_id": query.id, "message_id": query.message_id,
             "time": time.time(), **answer}
        )  # fmt: skip
        chat.touch()
        self.changed.fire()

    def chat_action(self, chat: Chat, action: str) -> None:
        """sendChatAction: shown for 5 seconds or until the bot's next message."""
        chat.chat_action = {"action": action, "until": time.time() + 5}
        chat.touch()
        self.changed.fire()

    def close(self) -> None:
        """Release every waiter (long polls, ``wait=``) so shutdown is immediate."""
        self.updates.close()
        self.changed.fire()
