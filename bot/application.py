"""The PTB Application factory: the same bot against Telegram, a local Bot API server or
the stand-in; only the base URLs differ."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import BotCommand
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes

from bot.context import BotContext
from bot.handlers import FEATURES, common
from bot.handlers.assistance import schedule_sweep
from bot.inbox import InboxApplication, ReplayTolerantRateLimiter, UpdateInbox
from bot.notices import schedule_notice_job
from bot.publicity_jobs import schedule_publicity_jobs
from bot.reminders import schedule_cycle_jobs
from bot.services import SERVICES_KEY, BotServices
from bot.update_processor import PerChatUpdateProcessor
from content.i18n import Translator


def build_application(
    token: str,
    bot_services: BotServices,
    *,
    base_url: str | None = None,
    base_file_url: str | None = None,
    max_retries: int = 3,
    schedule_jobs: bool = True,
    inbox: UpdateInbox | None = None,
    shared_rate: Callable[[], Awaitable[None]] | None = None,
) -> Application:
    """With an `inbox`, every update is marked there once handled (bot/inbox.py) and
    app/serve.py polls through it; without one, PTB's own Updater polls. `shared_rate`: the
    deployment's overall sending limit (a scaled-out deployment's processes share it)."""
    builder = (
        ApplicationBuilder()
        .application_class(InboxApplication, {"inbox": inbox})
        .token(token)
        .context_types(ContextTypes(context=BotContext))
        # Obeys Telegram's flood limits and retries after a 429 with the wait it asks for.
        .rate_limiter(ReplayTolerantRateLimiter(max_retries=max_retries, shared=shared_rate))
        .concurrent_updates(PerChatUpdateProcessor())
        .connect_timeout(10)
        .read_timeout(30)
        .write_timeout(30)
        .get_updates_read_timeout(40)
    )
    if base_url:
        builder = builder.base_url(base_url).base_file_url(
            base_file_url or base_url.replace("/bot", "/file/bot")
        )
    application = builder.build()
    application.bot_data[SERVICES_KEY] = bot_services
    for feature in FEATURES:
        feature.register(application)
    common.register_fallbacks(application)
    if schedule_jobs:
        schedule_cycle_jobs(application)
        schedule_publicity_jobs(application)
        schedule_sweep(application)
        schedule_notice_job(application)
    return application


# The commands Telegram lists in its "/" menu, each described in the person's language.
MENU_COMMANDS = ("start", "certify", "status", "bind", "privacy", "language", "help")


async def publish_commands(application: Application) -> None:
    """Describe the commands to Telegram once at start-up (Chinese by default, English too)."""
    try:
        for language, language_code in (("zh_Hans", None), ("en", "en")):
            t = Translator(language)
            commands = [BotCommand(name, t(f"command.{name}")) for name in MENU_COMMANDS]
            await application.bot.set_my_commands(commands, language_code=language_code)
    except TelegramError:
        # A cosmetic list: the bot works without it, so a failure here must not stop it.
        logging.getLogger(__name__).warning("could not publish the command list")
