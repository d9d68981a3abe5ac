"""An async client of the control API, for tests that play the Telegram user.

Thin by design: each method is one control call, except :meth:`StandinClient.press` (finds a
button the way a user would) and :meth:`StandinClient.wait_for_bot_messages` (waits without
sleep loops, using the server's long poll, and says what the chat held when it times out).
"""

from __future__ import annotations

import json
import mimetypes
import time
from types import TracebackType
from typing import Any

import aiohttp

DEFAULT_PHONE = "+8613800138000"


class StandinError(Exception):
    """The control API refused a request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class StandinClient:
    """Control API client; ``base_url`` is the stand-in's root, e.g. ``http://127.0.0.1:8081``."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._owns_session = session is None

    async def __aenter__(self) -> StandinClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _call(self, verb: str, path: str, **kwargs: Any) -> Any:
        async with self._http().request(verb, self.base_url + path, **kwargs) as response:
            body = await response.json(content_type=None)
            if response.status >= 400:
                raise StandinError(response.status, body.get("error", str(body)))
            return body

    @staticmethod
    def _form(chat_id: int, data: bytes, filename: str, mime_type: str, **fields: Any) -> aiohttp.FormData:
        form = aiohttp.FormData(quote_fields=False)  # raw UTF-8 file names, as browsers send them
        form.add_field("chat_id", str(chat_id))
        for name, value in fields.items():
            if value is not None:
                form.add_field(name, str(value))
        form.add_field("file", data, filename=filename, content_type=mime_type)
        return form

    # --- acting as the user -------------------------------------------------------------------

    async def send_text(self, chat_id: int, text: str, user: dict[str, Any] | None = None) -> dict[str, Any]:
        """``{"update_id", "message"}`` of the user's text message."""
        body: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if user:
            body["user"] = user
        return await self._call("POST", "/control/updates/message", json=body)

    async def send_contact(
        self,
        chat_id: int,
        phone_number: str = DEFAULT_PHONE,
        first_name: str | None = None,
        user: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The user shares their own contact."""
        body: dict[str, Any] = {"chat_id": chat_id, "phone_number": phone_number}
        if first_name:
            body["first_name"] = first_name
        if user:
            body["user"] = user
        return await self._call("POST", "/control/updates/contact", json=body)

    async def send_photo(
        self,
        chat_id: int,
        data: bytes,
        filename: str = "photo.jpg",
        as_document: bool = False,
        caption: str | None = None,
        mime_type: str | None = None,
    ) -> dict[str, Any]:
        """The user sends a photo (Telegram makes the sizes), or sends it as a file."""
        mime_type = mime_type or _guess(filename, "image/jpeg")
        form = self._form(
            chat_id, data, filename, mime_type, caption=caption, as_document="1" if as_document else None
        )
        return await self._call("POST", "/control/updates/photo", data=form)

    async def send_document(
        self,
        chat_id: int,
        data: bytes,
        filename: str,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> dict[str, Any]:
        """The user sends a file; mime_type is guessed from filename when not given."""
        mime_type = mime_type or _guess(filename, "application/octet-stream")
        form = self._form(chat_id, data, filename, mime_type, caption=caption)
        return await self._call("POST", "/control/updates/document", data=form)

    async def send_video_note(
        self,
        chat_id: int,
        data: bytes,
        duration: int = 5,
        length: int = 384,
        forwarded_from: str | None = None,
    ) -> dict[str, Any]:
        """The user sends a round video; `forwarded_from` forwards it from that (hidden) sender."""
        form = self._form(
            chat_id,
            data,
            "video_note.mp4",
            "video/mp4",
            duration=duration,
            length=length,
            forwarded_from=forwarded_from,
        )
        return await self._call("POST", "/control/updates/video_note", data=form)

    async def press_button(
        self, chat_id: int, message_id: int, data: str, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """``{"update_id", "callback_query_id"}`` of pressing an inline button with ``data``."""
        body: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "data": data}
        if user:
            body["user"] = user
        return await self._call("POST", "/control/updates/callback", json=body)

    async def press(
        self, chat_id: int, button_text: str, *, phone_number: str = DEFAULT_PHONE
    ) -> dict[str, Any]:
        """Press a button by its label, as the user would.

        An inline button (newest bot message first) sends a callback query; a button of the reply
        keyboard on screen sends its text, or the user's contact if it has ``request_contact``.
        """
        chat = await self.chat(chat_id)
        for message in reversed(chat["messages"]):
            if not message["from_bot"]:
                continue
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"] == button_text and "callback_data" in button:
                        return await self.press_button(
                            chat_id, message["message_id"], button["callback_data"]
                        )
        keyboard = chat.get("keyboard") or {}
        for row in keyboard.get("keyboard", []):
            for button in row:
                if button["text"] == button_text:
                    if button.get("request_contact"):
                        return await self.send_contact(chat_id, phone_number)
                    return await self.send_text(chat_id, button_text)
        raise LookupError(f"no button {button_text!r} in chat {chat_id}; visible: {_visible_buttons(chat)}")

    # --- reading the chat ---------------------------------------------------------------------

    async def chat(
        self, chat_id: int, after_id: int = 0, wait: float = 0, since: int | None = None
    ) -> dict[str, Any]:
        """The full chat view: messages, callback_answers, keyboard, chat_action, version."""
        query: dict[str, str] = {"after_id": str(after_id), "wait": str(wait)}
        if since is not None:
            query["since"] = str(since)
        return await self._call("GET", f"/control/chats/{chat_id}/messages", params=query)

    async def chats(self) -> list[dict[str, Any]]:
        """Every chat: chat_id, user, blocked, message_count, version."""
        return (await self._call("GET", "/control/chats"))["chats"]

    async def messages(self, chat_id: int, after_id: int = 0, wait: float = 0) -> list[dict[str, Any]]:
        """Messages of both sides with id > after_id; ``wait`` long-polls for at least one."""
        return (await self.chat(chat_id, after_id, wait))["messages"]

    async def wait_for_bot_messages(
        self,
        chat_id: int,
        after_id: int,
        count: int = 1,
        timeout: float = 10,  # noqa: ASYNC109 - part of the agreed client API
    ) -> list[dict[str, Any]]:
        """The bot's messages after ``after_id`` once at least ``count`` exist; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        found: list[dict[str, Any]] = []
        cursor = after_id
        while True:
            remaining = deadline - time.monotonic()
            batch = await self.messages(chat_id, after_id=cursor, wait=max(0.0, min(remaining, 30.0)))
            for message in batch:
                cursor = max(cursor, message["message_id"])
                if message["from_bot"]:
                    found.append(message)
            if len(found) >= count:
                return found
            if remaining <= 0:
                held = await self.messages(chat_id)
                raise TimeoutError(
                    f"chat {chat_id}: expected {count} bot message(s) after id {after_id} within "
                    f"{timeout}s, got {len(found)}. The chat holds:\n{_summary(held)}"
                )

    async def download(self, file_id_or_url: str) -> bytes:
        """Bytes of a file by file_id or by a ``files[].url`` of the messages view."""
        path = file_id_or_url if file_id_or_url.startswith("/") else f"/control/files/{file_id_or_url}"
        async with self._http().get(self.base_url + path) as response:
            if response.status >= 400:
                raise StandinError(response.status, await response.text())
            return await response.read()

    # --- making Telegram misbehave, and watching the bot ----------------------------------------

    async def inject_fault(
        self,
        method: str,
        error_code: int,
        retry_after: int | None = None,
        count: int = 1,
        description: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"method": method, "error_code": error_code, "count": count}
        if retry_after is not None:
            body["retry_after"] = retry_after
        if description:
            body["description"] = description
        return await self._call("POST", "/control/faults", json=body)

    async def block(self, chat_id: int) -> dict[str, Any]:
        return await self._call("POST", f"/control/chats/{chat_id}/block")

    async def unblock(self, chat_id: int) -> dict[str, Any]:
        return await self._call("POST", f"/control/chats/{chat_id}/unblock")

    async def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Bot API calls received (method, chat_id, time, ok, error_code), oldest first."""
        params = {"method": method} if method else None
        return (await self._call("GET", "/control/calls", params=params))["calls"]

    async def health(self) -> bool:
        return bool((await self._call("GET", "/control/health")).get("ok"))


def _guess(filename: str, default: str) -> str:
    return mimetypes.guess_type(filename, strict=False)[0] or default


def _visible_buttons(chat: dict[str, Any]) -> list[str]:
    labels = [
        button["text"]
        for message in chat["messages"]
        if message["from_bot"]
        for row in message.get("reply_markup", {}).get("inline_keyboard", [])
        for button in row
    ]
    keyboard = chat.get("keyboard") or {}
    return labels + [button["text"] for row in keyboard.get("keyboard", []) for button in row]


def _summary(messages: list[dict[str, Any]]) -> str:
    if not messages:
        return "  (no messages)"
    lines = []
    for message in messages:
        who = "bot " if message["from_bot"] else "user"
        content = message.get("text") or message.get("caption") or ""
        kinds = [kind for kind in ("photo", "document", "video", "video_note", "contact") if kind in message]
        lines.append(
            f"  #{message['message_id']} {who}: {json.dumps(content, ensure_ascii=False)} {kinds or ''}"
        )
    return "\n".join(lines)
