"""``reply_markup`` validation and its split into what Telegram echoes and what it does not.

The Bot API returns an InlineKeyboardMarkup inside the sent Message, but never a reply keyboard,
ReplyKeyboardRemove or ForceReply; the stand-in keeps those aside for the demo page, which has
to draw the keyboard the user sees.
"""

from __future__ import annotations

from typing import Any

from demo.standin.errors import bad_request

_INLINE_ACTIONS = ("callback_data", "url", "web_app", "login_url", "switch_inline_query",
                   "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                   "copy_text", "callback_game", "pay")  # fmt: skip
_CANT_PARSE = "can't parse inline keyboard button"
_REPLY_OPTIONS = ("is_persistent", "resize_keyboard", "one_time_keyboard", "input_field_placeholder",
                  "selective")  # fmt: skip


def split_reply_markup(markup: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(inline keyboard for the Message JSON, other markup for the chat) from a parsed reply_markup."""
    if markup is None:
        return None, None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return _inline(markup), None
    if "keyboard" in markup:
        return None, _reply_keyboard(markup)
    if markup.get("remove_keyboard") is True:
        return None, {"remove_keyboard": True, **_selective(markup)}
    if markup.get("force_reply") is True:
        extra = (
            {"input_field_placeholder": markup["input_field_placeholder"]}
            if markup.get("input_field_placeholder")
            else {}
        )
        return None, {"force_reply": True, **extra, **_selective(markup)}
    raise bad_request("can't parse reply keyboard markup JSON object")


def inline_only(markup: Any) -> dict[str, Any] | None:
    """Edits accept only inline keyboards."""
    inline, other = split_reply_markup(markup)
    if other is not None:
        raise bad_request("inline keyboard expected")
    return inline


def _selective(markup: dict[str, Any]) -> dict[str, Any]:
    return {"selective": True} if markup.get("selective") else {}


def _rows(markup: dict[str, Any], key: str) -> list[list[Any]]:
    rows = markup.get(key)
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(f'field "{key}" of the keyboard must be an Array of Arrays')
    return rows


def _inline(markup: dict[str, Any]) -> dict[str, Any] | None:
    rows = []
    for row in _rows(markup, "inline_keyboard"):
        buttons = []
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request(f"{_CANT_PARSE}: Text buttons are unallowed in the inline keyboard")
            actions = [key for key in _INLINE_ACTIONS if key in button]
            if len(actions) != 1:
                raise bad_request(f"{_CANT_PARSE}: InlineKeyboardButton must have exactly one optional field")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
            buttons.append(button)
        if buttons:
            rows.append(buttons)
    return {"inline_keyboard": rows} if rows else None


def _reply_keyboard(markup: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for row in _rows(markup, "keyboard"):
        buttons = []
        for button in row:
            if isinstance(button, str):
                button = {"text": button}
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
            buttons.append(button)
        rows.append(buttons)
    return {"keyboard": rows, **{key: markup[key] for key in _REPLY_OPTIONS if markup.get(key)}}
