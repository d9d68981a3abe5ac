"""How the control API presents a chat to tests and the demo page."""

from __future__ import annotations

import time
from typing import Any

from demo.standin.chats import Chat, StoredMessage


def file_url(file_id: str) -> str:
    return f"/control/files/{file_id}"


def _file(kind: str, media: dict[str, Any]) -> dict[str, Any]:
    entry = {"kind": kind, "file_id": media["file_id"], "url": file_url(media["file_id"])}
    for key in ("width", "height", "file_name", "mime_type", "file_size", "length", "duration"):
        if key in media:
            entry[key] = media[key]
    return entry


def message_files(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every downloadable file in a message: photo sizes (smallest first), document, thumbnail, video note."""
    files = [_file("photo", size) for size in data.get("photo", [])]
    for kind in ("document", "video", "video_note"):
        media = data.get(kind)
        if media:
            files.append(_file(kind, media))
            if media.get("thumbnail"):
                files.append(_file("thumbnail", media["thumbnail"]))
    return files


def message_view(stored: StoredMessage) -> dict[str, Any]:
    """The Message JSON plus from_bot / edited / revision / files (and reply_keyboard when sent)."""
    view = dict(stored.data)
    view["from_bot"] = stored.from_bot
    view["edited"] = stored.edited
    view["revision"] = stored.revision
    view["files"] = message_files(stored.data)
    if stored.reply_keyboard is not None:
        view["reply_keyboard"] = stored.reply_keyboard
    return view


def chat_view(chat: Chat | None, chat_id: int, after_id: int, since: int | None) -> dict[str, Any]:
    """The response of ``GET /control/chats/{id}/messages``."""
    if chat is None:
        return {"chat_id": chat_id, "messages": [], "callback_answers": [], "keyboard": None,
                "chat_action": None, "blocked": False, "version": 0}  # fmt: skip
    messages = [
        message_view(stored)
        for stored in chat.messages.values()
        if stored.message_id > after_id and (since is None or stored.version > since)
    ]
    action = chat.chat_action if chat.chat_action and chat.chat_action["until"] > time.time() else None
    return {
        "chat_id": chat_id,
        "messages": messages,
        "callback_answers": list(chat.callback_answers),
        "keyboard": chat.keyboard,
        "chat_action": action,
        "blocked": chat.blocked,
        "version": chat.version,
    }
