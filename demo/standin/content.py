"""Message content shared by the sending and editing methods: text, captions, replies."""

from __future__ import annotations

from typing import Any

from demo.standin.chats import Chat
from demo.standin.errors import bad_request
from demo.standin.formatting import parse_text, utf16_len
from demo.standin.params import Params

MAX_TEXT = 4096
MAX_CAPTION = 1024


def formatted_text(params: Params, *, caption: bool = False) -> dict[str, Any]:
    """``{"text", "entities"}`` (or caption / caption_entities) with parse_mode applied.

    Explicit entities win over parse_mode, as documented by Telegram.
    """
    field, entities_field = ("caption", "caption_entities") if caption else ("text", "entities")
    raw = params.text(field)
    if raw is None or not raw.strip():
        if caption:
            return {}
        raise bad_request("message text is empty")
    explicit = params.json(entities_field)
    if explicit:
        text, entities = raw, list(explicit)
    else:
        text, entities = parse_text(raw, params.text("parse_mode"))
    if not text.strip():
        if caption:
            return {}
        raise bad_request("message text is empty")
    if utf16_len(text) > (MAX_CAPTION if caption else MAX_TEXT):
        raise bad_request("message caption is too long" if caption else "message is too long")
    return {field: text, **({entities_field: entities} if entities else {})}


def reply_to(params: Params, chat: Chat) -> dict[str, Any]:
    """``reply_to_message`` for reply_parameters / reply_to_message_id, when given."""
    reply = params.json("reply_parameters") or {}
    message_id = reply.get("message_id") if isinstance(reply, dict) else None
    if message_id is None:
        message_id = params.integer("reply_to_message_id")
    if message_id is None:
        return {}
    target = chat.messages.get(int(message_id))
    if target is None:
        lenient = (isinstance(reply, dict) and reply.get("allow_sending_without_reply")) or params.flag(
            "allow_sending_without_reply"
        )
        if lenient:
            return {}
        raise bad_request("message to be replied not found")
    quoted = {key: value for key, value in target.data.items() if key != "reply_to_message"}
    return {"reply_to_message": quoted}
