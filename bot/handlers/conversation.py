"""What the short conversations (binding, home visits, in-person certification, life events,
assistance requests) share: a tapped button goes away, a typed answer may be a main-menu
button instead (bot.menu.answer_step), and there is always a way out — Cancel, /cancel, or a
few quiet minutes — after which the answers kept in `user_data` are forgotten."""

from __future__ import annotations

import re
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from telegram import Update
from telegram.constants import ChatAction
from telegram.error import BadRequest
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.context import BotContext
from bot.handlers.common import menu_or_roles, profile_of
from bot.menu import ConversationStep, answer_step
from bot.services import services
from content.i18n import all_translations
from verification.faces.media import MediaLimits

Handler = Callable[[Update, BotContext], Awaitable[None]]
MAX_PHOTO_BYTES = MediaLimits().max_bytes


@dataclass(frozen=True)
class ReceivedPhoto:
    data: bytes
    channel: str  # "photo" | "document"
    media_type: str


async def receive_photo(update: Update, context: BotContext) -> ReceivedPhoto | None:
    """The photo (or picture sent as a file) of this message, downloaded. None for one too
    large to fetch: the person is told, and an error record is written; nothing is fetched."""
    message = update.effective_message
    if message.photo:
        media, channel, media_type = message.photo[-1], "photo", "image/jpeg"
    else:
        media, channel = message.document, "document"
        media_type = message.document.mime_type or "application/octet-stream"
    if media.file_size and media.file_size > MAX_PHOTO_BYTES:
        await services(context).certification.refuse_file(
            update.effective_chat.id, channel, "too_large_bytes", media.file_size
        )
        _, t = await profile_of(update, context)
        await message.reply_text(t("cert.too_big", limit_mb=MAX_PHOTO_BYTES // 2**20))
        return None
    await message.reply_chat_action(ChatAction.TYPING)
    return ReceivedPhoto(bytes(await (await media.get_file()).download_as_bytearray()), channel, media_type)


def started_by(action: str, command: str, start: ConversationStep) -> list[BaseHandler]:
    """Entry points: the main-menu button of `action` (in any language) and /`command`."""
    labels = filters.Text(list(all_translations(f"menu.{action}").values()))
    return [MessageHandler(labels, start), CommandHandler(command, start)]


def typed(step: ConversationStep, cancel: ConversationStep, pending: str) -> MessageHandler:
    """A typed answer to `step`; a main-menu button's label leaves the conversation instead."""
    return MessageHandler(filters.TEXT & ~filters.COMMAND, answer_step(step, cancel, pending))


async def remove_buttons(update: Update) -> None:
    """Take the buttons off the message tapped, so that the same step is not taken twice."""
    try:
        await update.callback_query.edit_message_reply_markup(reply_markup=None)
    except BadRequest:  # gone already, or the message is too old to edit
        pass


async def drop_buttons(update: Update) -> None:
    """Answer a tap and take its message's buttons away; a typed answer has none."""
    if update.callback_query:
        await update.callback_query.answer()
        await remove_buttons(update)


def cancel_step(pending: str, text_key: str) -> ConversationStep:
    """Cancel (the button, or /cancel): forget the answers so far, say `text_key`, and show
    the main menu again."""

    async def cancel(update: Update, context: BotContext) -> int:
        await drop_buttons(update)
        context.user_data.pop(pending, None)
        profile, t = await profile_of(update, context)
        await update.effective_message.reply_text(t(text_key), reply_markup=menu_or_roles(t, profile))
        return ConversationHandler.END

    return cancel


def stale_button(text_key: str) -> Handler:
    """The answer to a button of a conversation that has ended (timed out, or the bot
    restarted): an alert, so that the tap does not seem to do nothing."""

    async def stale(update: Update, context: BotContext) -> None:
        _, t = await profile_of(update, context)
        await update.callback_query.answer(t(text_key), show_alert=True)

    return stale


def conversation(
    name: str,
    *,
    entry_points: list[BaseHandler],
    states: dict[object, list[BaseHandler]],
    cancel: ConversationStep,
    cancel_pattern: str | re.Pattern[str],
    pending: str,
    timeout: timedelta | float,
    on_timeout: Handler | None = None,
) -> ConversationHandler:
    """A conversation that can always be left: /cancel or a button matching `cancel_pattern`,
    an entry point (it starts again), or `timeout` without an answer, which forgets
    `user_data[pending]` and then runs `on_timeout`, if given."""

    async def timed_out(update: Update, context: BotContext) -> None:
        context.user_data.pop(pending, None)
        if on_timeout is not None:
            await on_timeout(update, context)

    with warnings.catch_warnings():
        # The buttons belong to the conversation of this chat and user, not to one message:
        # PTB's hint about per_message tracking does not apply.
        warnings.filterwarnings("ignore", "If 'per_message=False'", PTBUserWarning)
        return ConversationHandler(
            entry_points=entry_points,
            states={**states, ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)]},
            fallbacks=[
                CommandHandler("cancel", cancel),
                CallbackQueryHandler(cancel, pattern=cancel_pattern),
            ],
            allow_reentry=True,
            conversation_timeout=timeout,
            name=name,
        )
