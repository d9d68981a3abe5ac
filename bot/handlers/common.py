"""First screens: /start, language, role, /help, the main menu and what is not understood.

Each handler turns an update into one service call and one reply.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from accounts.profiles import LANGUAGES, Profile, Role
from bot import keyboards
from bot.services import services
from content.i18n import Translator, all_translations

logger = logging.getLogger(__name__)

# Menu buttons send their label as text; recognise a label in any language.
_MENU_LABELS: dict[str, str] = {
    label: action for action in keyboards.MENU_ACTIONS for label in all_translations(f"menu.{action}").values()
}
_GUIDES = {"how_to_certify": "info.how_to_certify", "fraud": "info.fraud", "employer_duties": "info.employer_duties"}


def _ids(update: Update) -> tuple[int, int]:
    return update.effective_user.id, update.effective_chat.id


def _menu_or_roles(t: Translator, profile: Profile):
    return keyboards.main_menu(t, profile.role) if profile.role else keyboards.role_choice(t)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await services(context).profiles.greet(*_ids(update))
    await update.effective_message.reply_text(
        Translator("zh_Hans")("start.choose_language"), reply_markup=keyboards.language_choice()
    )


async def choose_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(
        Translator("zh_Hans")("start.choose_language"), reply_markup=keyboards.language_choice()
    )


async def language_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    language = query.data.removeprefix("lang:")
    if language not in LANGUAGES:
        await query.answer()
        return
    profile = await services(context).profiles.set_language(*_ids(update), language)
    t = Translator(profile.language)
    await query.answer(t("language.changed"))
    await query.edit_message_text(t("language.changed"))
    if profile.role:
        await query.message.reply_text(t(f"welcome.{profile.role.value}"), reply_markup=_menu_or_roles(t, profile))
    else:
        await query.message.reply_text(t("role.choose"), reply_markup=keyboards.role_choice(t))


async def choose_role(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    profile = await services(context).profiles.greet(*_ids(update))
    t = Translator(profile.language)
    await update.effective_message.reply_text(t("role.choose"), reply_markup=keyboards.role_choice(t))


async def role_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    try:
        role = Role(query.data.removeprefix("role:"))
    except ValueError:
        await query.answer()
        return
    profile = await services(context).profiles.set_role(*_ids(update), role)
    t = Translator(profile.language)
    await query.answer()
    await query.edit_message_text(t("role.chosen", role=t(f"role.button.{role.value}")))
    await query.message.reply_text(t(f"welcome.{role.value}"), reply_markup=keyboards.main_menu(t, role))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    profile = await services(context).profiles.greet(*_ids(update))
    t = Translator(profile.language)
    await update.effective_message.reply_text(t("help.text"), reply_markup=_menu_or_roles(t, profile))


async def menu_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    action = _MENU_LABELS.get(update.effective_message.text.strip())
    if action == "language":
        await choose_language(update, context)
        return
    if action == "role":
        await choose_role(update, context)
        return
    profile = await services(context).profiles.greet(*_ids(update))
    t = Translator(profile.language)
    if action == "help":
        text = t("help.text")
    elif action in _GUIDES:
        text = t(_GUIDES[action])
    else:
        text = t("unknown.text")
    await update.effective_message.reply_text(text, reply_markup=_menu_or_roles(t, profile))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    profile = await services(context).profiles.greet(*_ids(update))
    t = Translator(profile.language)
    await update.effective_message.reply_text(t("unknown.command"), reply_markup=_menu_or_roles(t, profile))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    # Log the kind of failure and the update id only: updates carry personal data.
    update_id = update.update_id if isinstance(update, Update) else None
    logger.error(
        "update %s failed: %s", update_id, type(context.error).__name__, exc_info=context.error
    )
    if isinstance(update, Update) and update.effective_chat:
        language = "zh_Hans"
        if update.effective_user:
            try:
                language = (await services(context).profiles.profile(update.effective_user.id)).language
            except Exception:  # the database may be what failed
                pass
        await context.bot.send_message(update.effective_chat.id, Translator(language)("error.generic"))


def register(application: Application) -> None:
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("language", choose_language))
    application.add_handler(CommandHandler("role", choose_role))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CallbackQueryHandler(language_chosen, pattern=r"^lang:"))
    application.add_handler(CallbackQueryHandler(role_chosen, pattern=r"^role:"))
    application.add_error_handler(on_error)


def register_fallbacks(application: Application) -> None:
    """What nothing else understood. Registered last: in a group, the first match wins."""
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, menu_text))
    application.add_handler(MessageHandler(filters.COMMAND, unknown_command))
