"""What the webhook accepts, and how it counts what it refuses.

`parse_update(body)` turns a request body into the update's JSON object, or raises
`MalformedUpdate`: not JSON, not an object, an `update_id` that is not a positive integer,
or a field the bot reads with the wrong type (PTB's `Update.de_json` accepts `"abc"` as an
update id and `5` as a message text, and the handlers would fail on them much later).
Only the fields the bot reads are checked, and only their types: whatever else Telegram
adds passes through untouched.

`RefusalCounter` counts refused requests by reason in memory and writes only a bounded
sample of them as error records (the first few per reason in each window, then one summary
of how many more there were): a flood of forged requests costs no database row and no log
line per request.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

MISSING_SECRET = "missing_secret"
WRONG_SECRET = "wrong_secret"
MALFORMED_BODY = "malformed_body"
TOO_LARGE = "too_large"
REASONS = (MISSING_SECRET, WRONG_SECRET, MALFORMED_BODY, TOO_LARGE)


class MalformedUpdate(ValueError):
    """The body is not a Telegram update. `str()` names the problem and at most a field path,
    never a value from the body."""


# --- the shape of an update ----------------------------------------------------------------

Check = Callable[[Any, str], None]


def _fail(path: str, what: str) -> MalformedUpdate:
    return MalformedUpdate(f"{path}: {what}")


def _int(value: Any, path: str) -> None:
    if type(value) is not int:  # bool is an int subclass: not accepted
        raise _fail(path, "not an integer")


def _str(value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise _fail(path, "not a string")


def _bool(value: Any, path: str) -> None:
    if not isinstance(value, bool):
        raise _fail(path, "not a boolean")


def _number(value: Any, path: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, "not a number")


def _any_object(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise _fail(path, "not an object")


def _list_of(check: Check) -> Check:
    def checked(value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise _fail(path, "not a list")
        for index, item in enumerate(value):
            check(item, f"{path}[{index}]")

    return checked


def _object(required: dict[str, Check], optional: dict[str, Check] | None = None) -> Check:
    optional = optional or {}

    def checked(value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise _fail(path, "not an object")
        for name, check in required.items():
            if name not in value:
                raise _fail(f"{path}.{name}", "missing")
            check(value[name], f"{path}.{name}")
        for name, check in optional.items():
            if name in value and value[name] is not None:
                check(value[name], f"{path}.{name}")

    return checked


_USER = _object(
    {"id": _int, "is_bot": _bool, "first_name": _str},
    {"last_name": _str, "username": _str, "language_code": _str},
)
_CHAT = _object({"id": _int, "type": _str}, {"title": _str, "username": _str, "first_name": _str})
_FILE = _object(
    {"file_id": _str, "file_unique_id": _str},
    {
        "file_size": _int,
        "width": _int,
        "height": _int,
        "duration": _int,
        "length": _int,
        "mime_type": _str,
        "file_name": _str,
    },
)
_CONTACT = _object({"phone_number": _str, "first_name": _str}, {"last_name": _str, "user_id": _int})
_LOCATION = _object({"latitude": _number, "longitude": _number})
_ENTITY = _object({"type": _str, "offset": _int, "length": _int})


def _message(value: Any, path: str) -> None:
    _MESSAGE_FIELDS(value, path)


_MESSAGE_FIELDS = _object(
    {"message_id": _int, "date": _int, "chat": _CHAT},
    {
        "from": _USER,
        "sender_chat": _CHAT,
        "edit_date": _int,
        "text": _str,
        "caption": _str,
        "media_group_id": _str,
        "entities": _list_of(_ENTITY),
        "caption_entities": _list_of(_ENTITY),
        "photo": _list_of(_FILE),
        "video": _FILE,
        "video_note": _FILE,
        "voice": _FILE,
        "audio": _FILE,
        "document": _FILE,
        "sticker": _FILE,
        "contact": _CONTACT,
        "location": _LOCATION,
        "reply_to_message": _message,
        "web_app_data": _object({"data": _str, "button_text": _str}),
    },
)
_CALLBACK_QUERY = _object(
    {"id": _str, "from": _USER, "chat_instance": _str},
    {"message": _message, "inline_message_id": _str, "data": _str},
)
_MEMBER_UPDATE = _object(
    {"chat": _CHAT, "from": _USER, "date": _int},
    {"old_chat_member": _any_object, "new_chat_member": _any_object},
)
_INLINE_QUERY = _object({"id": _str, "from": _USER, "query": _str, "offset": _str})

# Every field of an Update besides update_id is an object; these are the ones checked deeper.
_UPDATE_FIELDS: dict[str, Check] = {
    "message": _message,
    "edited_message": _message,
    "channel_post": _message,
    "edited_channel_post": _message,
    "business_message": _message,
    "edited_business_message": _message,
    "callback_query": _CALLBACK_QUERY,
    "my_chat_member": _MEMBER_UPDATE,
    "chat_member": _MEMBER_UPDATE,
    "inline_query": _INLINE_QUERY,
}


def parse_update(body: bytes) -> dict:
    """The update object in `body` (UTF-8 JSON), its fields of the expected types."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedUpdate("not JSON") from None
    if not isinstance(payload, dict):
        raise MalformedUpdate("not a JSON object")
    update_id = payload.get("update_id")
    if type(update_id) is not int or update_id <= 0:
        raise MalformedUpdate("update_id: not a positive integer")
    try:
        for name, value in payload.items():
            if name == "update_id" or value is None:
                continue
            _UPDATE_FIELDS.get(name, _any_object)(value, name)
    except RecursionError:  # replies nested thousands deep
        raise MalformedUpdate("nested too deep") from None
    return payload


# --- counting refusals ---------------------------------------------------------------------

Record = Callable[[str, str], Awaitable[None]]


class RefusalCounter:
    """Refused webhook requests by reason (`counts`, since start), and a bounded sample of
    them written through `record(code, detail)`: the first `samples` per reason in each
    `window` seconds, then, when the window closes (or at `flush()`, on shutdown), one
    `webhook_refusals_suppressed` record with how many more each reason had."""

    def __init__(
        self,
        record: Record,
        *,
        samples: int = 3,
        window: float = 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.counts: Counter[str] = Counter({reason: 0 for reason in REASONS})
        self._record = record
        self._samples = samples
        self._window = window
        self._monotonic = monotonic
        self._window_started: float | None = None
        self._in_window: Counter[str] = Counter()
        self._suppressed: Counter[str] = Counter()

    def snapshot(self) -> dict[str, int]:
        return dict(self.counts)

    async def refuse(self, reason: str, code: str, detail: str) -> None:
        self.counts[reason] += 1
        now = self._monotonic()
        if self._window_started is None or now - self._window_started >= self._window:
            summary = self._close_window()
            self._window_started = now
            if summary:
                await self._write("webhook_refusals_suppressed", summary)
        self._in_window[reason] += 1
        if self._in_window[reason] <= self._samples:
            await self._write(code, detail)
        else:
            self._suppressed[reason] += 1

    async def flush(self) -> None:
        """Write the summary of the current window now (on shutdown)."""
        summary = self._close_window()
        if summary:
            await self._write("webhook_refusals_suppressed", summary)

    def _close_window(self) -> str:
        summary = " ".join(f"{reason}={count}" for reason, count in sorted(self._suppressed.items()) if count)
        self._in_window.clear()
        self._suppressed.clear()
        return summary

    async def _write(self, code: str, detail: str) -> None:
        try:
            await self._record(code, detail)
        except Exception as error:  # noqa: BLE001 - a refusal is answered even when unrecorded
            logger.warning("webhook refusal not recorded (%s)", type(error).__name__)
