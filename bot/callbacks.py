"""The data of inline buttons, made and read by one codec (`Button`).

The data comes back from the client, and a forged update can carry anything: "²" passes
`str.isdigit()` and "٣" passes `\\d` and `str.isdecimal()`, so numbers are read with an ASCII
`[0-9]+` only, and words against the set the bot itself offers. What no button's pattern
matches gets a polite answer (the button is no longer valid) and an error record that names
the kind of button, never the data itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from telegram import Update

from bot.context import BotContext
from bot.services import services
from content.i18n import Translator

# ASCII digits only (`\d` also matches other scripts).
NUMBER = r"[0-9]{1,18}"
# Telegram's limit for a button's data, in bytes.
MAX_DATA_BYTES = 64


@dataclass(frozen=True)
class Field:
    """One typed field of a button's data: what it may look like, and how it is read."""

    regex: str
    read: Callable[[str], Any] = str


def Number() -> Field:  # noqa: N802 - reads like a type in a Button's definition
    """A record's id: ASCII digits, read as an int."""
    return Field(NUMBER, int)


def NumberOr(word: str) -> Field:  # noqa: N802
    """A record's id (an int), or one word instead (a str), e.g. "someone else"."""
    return Field(f"{NUMBER}|{re.escape(word)}", lambda text: text if text == word else int(text))


def Word(longest: int = 40) -> Field:  # noqa: N802
    """A code the bot made (an entry id, a region code, a reason): ASCII letters, digits, _ and -."""
    return Field(rf"[A-Za-z0-9_-]{{1,{longest}}}")


def OneOf(*words: str) -> Field:  # noqa: N802
    """One of the words the bot offers, and nothing else."""
    return Field("|".join(re.escape(word) for word in sorted(words, key=len, reverse=True)))


class Button:
    """One kind of inline button: a fixed prefix, then typed fields, ':' between them.

    The same object makes the data (`REVIEW_SEE(case_id)`), gives the handler its pattern
    (`pattern=REVIEW_SEE.pattern`), and reads the data back (`REVIEW_SEE.read(data)`): data
    the bot did not make matches no pattern, so it reaches a catch-all that refuses it
    (`stale_button`, `unknown_button`) instead of a handler that would have to guess. A last
    field may be optional, for buttons already on people's screens that were made without it."""

    # The first word of every prefix: what an error record may name a refused button by.
    kinds: ClassVar[set[str]] = set()

    def __init__(self, prefix: str, *fields: Field, optional_last: bool = False) -> None:
        self.prefix, self.fields, self.optional_last = prefix, fields, optional_last
        Button.kinds.add(prefix.split(":", 1)[0])
        parts = [f":({field.regex})" for field in fields]
        if optional_last and parts:
            parts[-1] = f"(?:{parts[-1]})?"
        self.pattern = re.compile(re.escape(prefix) + "".join(parts) + r"\Z", re.ASCII)

    def __call__(self, *values: object) -> str:
        data = ":".join([self.prefix, *(str(value) for value in values)])
        if self.read(data) is None or len(data.encode()) > MAX_DATA_BYTES:
            raise ValueError(f"not data of a {self.prefix} button")  # a bug here, not user input
        return data

    def read(self, data: str | None) -> tuple[Any, ...] | None:
        """The fields of `data` (each read as its type), or None if the bot did not make it."""
        match = self.pattern.match(data) if data else None
        if match is None:
            return None
        pairs = zip(self.fields, match.groups(), strict=True)
        return tuple(None if text is None else field.read(text) for field, text in pairs)

    def of(self, update: Update) -> tuple[Any, ...]:
        """The fields of the tapped button, in the handler this button's `pattern` selected."""
        values = self.read(update.callback_query.data if update.callback_query else None)
        if values is None:  # a handler registered without this button's pattern
            raise LookupError(f"the {self.prefix} handler was given data its pattern refuses")
        return values

    def __repr__(self) -> str:
        return f"Button({self.pattern.pattern!r})"


async def refuse(update: Update, context: BotContext, kind: str) -> None:
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


async def unknown_button(update: Update, context: BotContext) -> None:
    """Any button no handler took: data the bot never sent (or sent long ago). The record
    names the kind of button it claimed to be when that is one of ours, else "unknown"."""
    claimed = (update.callback_query.data or "").split(":", 1)[0]
    await refuse(update, context, claimed if claimed in Button.kinds else "unknown")
