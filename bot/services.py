"""The services a handler may call, put in `bot_data` once when the application is built."""

from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import ContextTypes

from accounts.profiles import ProfileService

SERVICES_KEY = "services"


@dataclass(frozen=True)
class BotServices:
    profiles: ProfileService


def services(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    return context.application.bot_data[SERVICES_KEY]
