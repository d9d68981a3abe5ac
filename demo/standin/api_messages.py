"""Text messages, edits, callback answers and chat actions."""

from __future__ import annotations

from typing import Any

from demo.standin.chats import Chat, StoredMessage
from demo.standin.content import formatted_text, reply_to
from demo.standin.errors import bad_request
from demo.standin.markup import inline_only, split_reply_markup
from demo.standin.registry import Call, method

CHAT_ACTIONS = frozenset(
    {"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
     "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note"}
)  # fmt: skip
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)


def send(call: Call, chat: Chat, content: dict[str, Any]) -> dict[str, Any]:
    """Common tail of every send method: reply, reply_markup, store, return the Message."""
    markup = call.params.json("reply_markup", error="can't parse reply keyboard markup JSON object")
    inline, other = split_reply_markup(markup)
    content = {**content, **reply_to(call.params, chat)}
    if inline is not None:
        content["reply_markup"] = inline
    return call.state.bot_message(chat, call.bot, content, other).data


@method("sendMessage")
async def send_message(call: Call) -> dict[str, Any]:
    chat = call.state.writable_chat(call.params.chat_id())
    return send(call, chat, formatted_text(call.params))


def _editable(call: Call) -> tuple[Chat, StoredMessage]:
    if call.params.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = call.state.writable_chat(call.params.chat_id())
    message_id = call.params.integer("message_id", error="message identifier is not specified")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    stored = chat.messages.get(message_id)
    if stored is None:
        raise bad_request("message to edit not found")
    if not stored.from_bot:
        raise bad_request("message can't be edited")
    return chat, stored


def _apply(call: Call, chat: Chat, stored: StoredMessage, changes: dict[str, Any], keys: tuple[str, ...]):
    before = {key: stored.data.get(key) for key in keys}
    after = {key: changes.get(key) for key in keys}
    if before == after:
        raise bad_request(NOT_MODIFIED)
    call.state.edit_message(chat, stored, {k: v for k, v in after.items() if v is not None},
                            [k for k, v in after.items() if v is None])  # fmt: skip
    return stored.data


@method("editMessageText")
async def edit_message_text(call: Call) -> dict[str, Any]:
    chat, stored = _editable(call)
    if "text" not in stored.data:
        raise bad_request("there is no text in the message to edit")
    changes = formatted_text(call.params)
    changes["reply_markup"] = inline_only(call.params.json("reply_markup"))
    return _apply(call, chat, stored, changes, ("text", "entities", "reply_markup"))


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(call: Call) -> dict[str, Any]:
    chat, stored = _editable(call)
    changes = {"reply_markup": inline_only(call.params.json("reply_markup"))}
    return _apply(call, chat, stored, changes, ("reply_markup",))


@method("answerCallbackQuery")
async def answer_callback_query(call: Call) -> bool:
    query = call.state.callback_queries.get(call.params.text("callback_query_id") or "")
    if query is None or query.answered:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = call.params.text("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    call.state.answer_callback(
        query, {"text": text, "show_alert": call.params.flag("show_alert"), "url": call.params.text("url")}
    )
    return True


@method("sendChatAction")
async def send_chat_action(call: Call) -> bool:
    chat = call.state.writable_chat(call.params.chat_id())
    action = call.params.text("action")
    if not action:
        raise bad_request("action is empty")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    call.state.chat_action(chat, action)
    return True
