"""Inline keyboards (the main menu is in bot.menu)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from accounts.profiles import Role
from bot.callbacks import Button, OneOf
from content.i18n import Translator

LANGUAGE_LABELS = {"zh_Hans": "简体中文", "en": "English"}
LANGUAGE = Button("lang", OneOf(*LANGUAGE_LABELS))
ROLE = Button("role", OneOf(*(role.value for role in Role)))


def language_choice() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=LANGUAGE(code))]
            for code, label in LANGUAGE_LABELS.items()
        ]
    )


def role_choice(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t(f"role.button.{role.value}"), callback_data=ROLE(role.value))]
            for role in Role
        ]
    )


def buttons(*rows: tuple[str, str]) -> InlineKeyboardMarkup:
    """One big button a row, each (label, callback data): easy to hit on a small screen."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)] for label, data in rows])
