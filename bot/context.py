"""The context of one update: who sent it, in which language, read once.

PTB makes one context per update and hands the same one to the handler of every group
(`Application.process_update`), so the sender's profile is read here on first use and the
handlers of that update share it, instead of each helper opening its own unit of work.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from accounts.profiles import Profile
from bot.services import SERVICES_KEY, BotServices
from content.i18n import Translator


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    def __init__(self, application: Application, chat_id: int | None = None, user_id: int | None = None):
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self._sender: tuple[Profile, Translator] | None = None

    @property
    def services(self) -> BotServices:
        return self.application.bot_data[SERVICES_KEY]

    async def sender(self, update: Update) -> tuple[Profile, Translator]:
        """The sender's profile (created on first contact) and a translator in their
        language, read once per update."""
        if self._sender is None:
            user, chat = update.effective_user, update.effective_chat
            self.remember(await self.services.profiles.greet(user.id, chat.id))
        assert self._sender is not None
        return self._sender

    def remember(self, profile: Profile) -> tuple[Profile, Translator]:
        """The sender's profile as it is now, after this update changed it (role, language)."""
        self._sender = (profile, Translator(profile.language))
        return self._sender
