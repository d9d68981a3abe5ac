"""🖥 网页工作台: a staff member asks the bot for a one-time link to the web console."""

from __future__ import annotations

from telegram import LinkPreviewOptions, Update
from telegram.ext import Application

from bot.context import BotContext
from bot.handlers.common import profile_of
from bot.menu import menu_action
from bot.services import services
from kernel.permissions import NotStaff


@menu_action("console")
async def send_console_link(update: Update, context: BotContext) -> None:
    _, t = await profile_of(update, context)
    sign_in = services(context).console_sign_in
    try:
        if sign_in is None:
            raise NotStaff(update.effective_user.id)
        link = await sign_in.issue(update.effective_user.id)
    except NotStaff:
        await update.effective_message.reply_text(t("console.link.not_staff"))
        return
    # No preview: Telegram's preview fetch must not be the first to open the link.
    await update.effective_message.reply_text(
        t("console.link.sent", minutes=link.minutes, url=link.url),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        protect_content=True,
    )


def register(application: Application) -> None:
    """Nothing beyond the menu button."""
