"""Keyboards. Reply keyboards are large, one or two buttons a row, for elderly users."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from accounts.profiles import Role
from content.i18n import Translator

LANGUAGE_LABELS = {"zh_Hans": "简体中文", "en": "English"}

# The main menu of each role: rows of menu actions (each action's label is `menu.<action>`).
MAIN_MENUS: dict[Role, list[list[str]]] = {
    Role.RETIREE: [["how_to_certify"], ["fraud"], ["help", "language"], ["role"]],
    Role.EMPLOYER: [["employer_duties"], ["fraud"], ["help", "language"], ["role"]],
    Role.STAFF: [["how_to_certify"], ["fraud"], ["employer_duties"], ["help", "language"], ["role"]],
}
MENU_ACTIONS = sorted({action for menu in MAIN_MENUS.values() for row in menu for action in row})


def language_choice() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"lang:{code}")] for code, label in LANGUAGE_LABELS.items()]
    )


def role_choice(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t(f"role.button.{role.value}"), callback_data=f"role:{role.value}")] for role in Role]
    )


def main_menu(t: Translator, role: Role) -> ReplyKeyboardMarkup:
    rows = [[KeyboardButton(t(f"menu.{action}")) for action in row] for row in MAIN_MENUS[role]]
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, input_field_placeholder=t("menu.placeholder"))
