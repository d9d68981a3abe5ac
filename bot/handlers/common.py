"""First screens: /start, language, role, /help, the main menu and what is not understood.

Each handler turns an update into one service call and one reply.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from accounts.profiles import Profile, Role
from bot import keyboards
from bot.callbacks import unknown_button
from bot.context import BotContext
from bot.inbox import apology_key
from bot.menu import action_for_label, free_text_handler, handler_for, main_menu, menu_action
from bot.services import services
from content.i18n import Translator
from kernel.permissions import NotStaff

logger = logging.getLogger(__name__)
T = TypeVar("T")


def user_and_chat(update: Update) -> tuple[int, int]:
    return update.effective_user.id, update.effective_chat.id


async def profile_of(update: Update, context: BotContext) -> tuple[Profile, Translator]:
    """The sender's profile (created on first contact) and a translator in their language:
    read once per update (bot/context.py)."""
    if isinstance(context, BotContext):
        return await context.sender(update)
    profile = await services(context).profiles.greet(*user_and_chat(update))
    return profile, Translator(profile.language)


def remember_profile(context: BotContext, profile: Profile) -> tuple[Profile, Translator]:
    """After this update changed the sender's profile: the rest of it sees the change."""
    if isinstance(context, BotContext):
        return context.remember(profile)
    return profile, Translator(profile.language)


def menu_or_roles(t: Translator, profile: Profile):
    return main_menu(t, profile.role) if profile.role else keyboards.role_choice(t)


async def staff_items(
    update: Update,
    context: BotContext,
    load: Callable[[int], Awaitable[Sequence[T]]],
    *,
    none_key: str | None,
    not_staff_key: str = "review.not_staff",
) -> Sequence[T]:
    """What a staff screen lists (`load` of the sender's Telegram id). Someone who is not staff
    is told so, and an empty list is said with `none_key` (unless None), both in the menu;
    the caller then shows each item."""
    profile, t = await profile_of(update, context)
    message = update.effective_message
    try:
        items = await load(update.effective_user.id)
    except NotStaff:
        await message.reply_text(t(not_staff_key), reply_markup=menu_or_roles(t, profile))
        return ()
    if not items and none_key is not None:
        await message.reply_text(t(none_key), reply_markup=menu_or_roles(t, profile))
    return items


async def reply_in_menu(update: Update, context: BotContext, key: str, **values) -> None:
    """Reply with one catalog text, keeping the sender's main menu on screen."""
    profile, t = await profile_of(update, context)
    await update.effective_message.reply_text(t(key, **values), reply_markup=menu_or_roles(t, profile))


async def start(update: Update, context: BotContext) -> None:
    await services(context).profiles.greet(*user_and_chat(update))
    await choose_language(update, context)


@menu_action("language")
async def choose_language(update: Update, context: BotContext) -> None:
    # Bilingual on purpose: the person may not read the language we would guess.
    await update.effective_message.reply_text(
        Translator("zh_Hans")("start.choose_language"), reply_markup=keyboards.language_choice()
    )


async def language_chosen(update: Update, context: BotContext) -> None:
    query = update.callback_query
    (language,) = keyboards.LANGUAGE.of(update)
    profile, t = remember_profile(
        context, await services(context).profiles.set_language(*user_and_chat(update), language)
    )
    await query.answer(t("language.changed"))
    await query.edit_message_text(t("language.changed"))
    if profile.role:
        await query.message.reply_text(
            t(f"welcome.{profile.role.value}"), reply_markup=main_menu(t, profile.role)
        )
    else:
        await query.message.reply_text(t("role.choose"), reply_markup=keyboards.role_choice(t))


@menu_action("role")
async def choose_role(update: Update, context: BotContext) -> None:
    _, t = await profile_of(update, context)
    await update.effective_message.reply_text(t("role.choose"), reply_markup=keyboards.role_choice(t))


async def role_chosen(update: Update, context: BotContext) -> None:
    query = update.callback_query
    role = Role(*keyboards.ROLE.of(update))
    profile, t = remember_profile(
        context, await services(context).profiles.set_role(*user_and_chat(update), role)
    )
    await query.answer()
    await query.edit_message_text(t("role.chosen", role=t(f"role.button.{role.value}")))
    await query.message.reply_text(t(f"welcome.{role.value}"), reply_markup=main_menu(t, role))


@menu_action("help")
async def help_command(update: Update, context: BotContext) -> None:
    await reply_in_menu(update, context, "help.text")


@menu_action("how_to_certify")
async def how_to_certify(update: Update, context: BotContext) -> None:
    await reply_in_menu(update, context, "info.how_to_certify")


@menu_action("fraud")
async def fraud_warning(update: Update, context: BotContext) -> None:
    await reply_in_menu(update, context, "info.fraud")


@menu_action("employer_duties")
async def employer_duties(update: Update, context: BotContext) -> None:
    await reply_in_menu(update, context, "info.employer_duties")


async def menu_text(update: Update, context: BotContext) -> None:
    handler = handler_for(action_for_label(update.effective_message.text))
    if handler is None:
        profile, _ = await profile_of(update, context)
        handler = free_text_handler(profile.role)
    if handler is None:
        await reply_in_menu(update, context, "unknown.text")
        return
    await handler(update, context)


async def unknown_command(update: Update, context: BotContext) -> None:
    await reply_in_menu(update, context, "unknown.command")


async def on_error(update: object, context: BotContext) -> None:
    # Log the kind of failure and the update id only: updates carry personal data.
    update_id = update.update_id if isinstance(update, Update) else None
    kind = type(context.error).__name__
    logger.error("update %s failed: %s", update_id, kind, exc_info=context.error)
    chat = update.effective_chat if isinstance(update, Update) else None
    try:  # the class name only: an exception's text may quote what the person sent
        await services(context).profiles.record_bot_error(
            kind[:60], chat_id=chat.id if chat else None, context={"update_id": update_id}
        )
    except Exception as failure:  # noqa: BLE001 - the database may be what failed
        logger.warning("could not record the failure of update %s: %s", update_id, type(failure).__name__)
    # "kept, handled once we are back" only where that is true (bot/inbox.py); once per update.
    apology = apology_key(context.application, update, context.error)
    if apology and isinstance(update, Update) and update.effective_chat:
        language = "zh_Hans"
        if update.effective_user:
            try:
                language = (await services(context).profiles.profile(update.effective_user.id)).language
            except Exception:  # the database may be what failed
                pass
        await context.bot.send_message(update.effective_chat.id, Translator(language)(apology))


def register(application: Application) -> None:
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("language", choose_language))
    application.add_handler(CommandHandler("role", choose_role))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CallbackQueryHandler(language_chosen, pattern=keyboards.LANGUAGE.pattern))
    application.add_handler(CallbackQueryHandler(role_chosen, pattern=keyboards.ROLE.pattern))
    application.add_error_handler(on_error)


def register_fallbacks(application: Application) -> None:
    """What nothing else understood. Registered last: in a group, the first match wins."""
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, menu_text))
    application.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    application.add_handler(CallbackQueryHandler(unknown_button))
