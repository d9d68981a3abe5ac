"""Inline keyboards (the main menu is in bot.menu)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from accounts.profiles import Role
from content.i18n import Translator

LANGUAGE_LABELS = {"zh_Hans": "简体中文", "en": "English"}


def language_choice() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=f"lang:{code}")]
            for code, label in LANGUAGE_LABELS.items()
        ]
    )


def role_choice(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t(f"role.button.{role.value}"), callback_data=f"role:{role.value}")]
            for role in Role
        ]
    )


def buttons(*rows: tuple[str, str]) -> InlineKeyboardMarkup:
    """One big button a row, each (label, callback data): easy to hit on a small screen."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)] for label, data in rows])
