"""`pension-bot run`: the bot against real Telegram (or any Bot API server), by polling or webhook."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="run the bot against Telegram (TELEGRAM_TOKEN; BOT_MODE polling|webhook)"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from telegram.error import InvalidToken

    from app.logs import configure_logging
    from app.settings import BotMode, Settings

    configure_logging()
    settings = Settings()
    configure_logging(settings=settings)  # now masking the token and keys it names
    if settings.telegram_token is None:
        print("TELEGRAM_TOKEN is not set. To try the bot without Telegram, run: pension-bot demo")
        return 2
    if settings.mode is BotMode.STANDIN:
        print("BOT_MODE=standin is what `pension-bot demo` runs; `run` is polling or webhook.")
        return 2
    try:
        asyncio.run(_serve(settings))
    except InvalidToken:
        # One line, no traceback: PTB's message quotes the token itself.
        print(
            "Telegram refused the bot token; check TELEGRAM_TOKEN (the token @BotFather gave) "
            "and BOT_API_BASE_URL.",
            file=sys.stderr,
        )
        return 2
    return 0


async def _serve(settings: Settings) -> None:
    from app.inbox_poller import update_inbox
    from app.serve import console_site, poll_until, stop_on_signals, webhook_until
    from app.settings import BotMode
    from app.wiring import open_runtime
    from bot.application import build_application

    assert settings.telegram_token is not None  # _run refused to start without one
    stop = asyncio.Event()
    stop_on_signals(stop)
    async with open_runtime(settings) as runtime:
        application = build_application(
            settings.telegram_token.get_secret_value(),
            runtime.bot_services,
            base_url=settings.bot_api_base_url,
            inbox=update_inbox(runtime),
        )
        logging.getLogger(__name__).info("bot starting in %s mode", settings.mode.value)
        if settings.mode is BotMode.WEBHOOK:
            await webhook_until(application, runtime, stop)
        else:
            async with console_site(runtime) as console_url:
                logging.getLogger(__name__).info("staff console at %s", console_url)
                await poll_until(application, stop)
