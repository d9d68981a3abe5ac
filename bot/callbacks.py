"""Reading the data of a tapped inline button strictly.

The data comes back from the client, and a forged update can carry anything: "²" passes
`str.isdigit()` and "٣" passes `\\d` and `str.isdecimal()`, so numbers are read with an ASCII
`[0-9]+` only, and words against the set the bot itself offers. What cannot be read gets a
polite answer (the button is no longer valid) and an error record that names the kind of
button, never the data itself.
"""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import ContextTypes

from bot.services import services
from content.i18n import Translator

# For CallbackQueryHandler patterns: ASCII digits only (`\d` also matches other scripts).
NUMBER = r"[0-9]{1,18}"
_NUMBER = re.compile(NUMBER, re.ASCII)


def number(text: str | None) -> int | None:
    """The whole of `text` as a non-negative integer written in ASCII digits, else None."""
    return int(text) if text is not None and _NUMBER.fullmatch(text) else None


def fields(data: str | None, prefix: str, count: int) -> list[str] | None:
    """The `count` colon-separated fields after `prefix` (which ends with ':'), else None."""
    if not data or not data.startswith(prefix):
        return None
    parts = data[len(prefix) :].split(":")
    return parts if len(parts) == count and all(parts) else None


def choice_and_number(data: str | None, prefix: str, choices) -> tuple[str, int] | None:
    """`prefix` + one of `choices` + ':' + a number, else None."""
    parts = fields(data, prefix, 2)
    if parts is None or parts[0] not in choices:
        return None
    value = number(parts[1])
    return None if value is None else (parts[0], value)


async def refuse(update: Update, context: ContextTypes.DEFAULT_TYPE, kind: str) -> None:
    """Answer a button whose data cannot be used: a short polite text, and an error record
    naming `kind` (which button it claimed to be) and the data's length only."""
    query = update.callback_query
    user = update.effective_user
    profiles = services(context).profiles
    language = "zh_Hans"
    if user is not None:
        try:
            language = (await profiles.profile(user.id)).language
        except Exception:  # noqa: BLE001 - the refusal is still said, in the default language
            pass
    await query.answer(Translator(language)("button.expired"), show_alert=True)
    await profiles.record_bot_error(
        "forged_callback",
        kind,
        chat_id=update.effective_chat.id if update.effective_chat else None,
        context={"length": len(query.data or "")},
    )


async def unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any button no handler took: data the bot never sent (or sent long ago)."""
    await refuse(update, context, "unknown")
