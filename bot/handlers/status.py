"""Handlers: the certification status at a glance (/status and the "📅" menu button)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.context import BotContext
from bot.cycle_texts import status_text
from bot.handlers.common import menu_or_roles, profile_of
from bot.menu import menu_action
from bot.services import services


@menu_action("status")
async def show_status(update: Update, context: BotContext) -> None:
    profile, t = await profile_of(update, context)
    statuses = await services(context).cycle.status_for_user(update.effective_user.id)
    await update.effective_message.reply_text(
        status_text(t, statuses), reply_markup=menu_or_roles(t, profile)
    )


def register(application: Application) -> None:
    application.add_handler(CommandHandler("status", show_status))
