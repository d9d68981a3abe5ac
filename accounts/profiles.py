"""Profiles of the people who talk to the bot: language and role, kept per Telegram user."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storage.errors import record_error
from storage.models import BotUser
from storage.uow import UnitOfWorkFactory

LANGUAGES = ("zh_Hans", "en")


class Role(StrEnum):
    RETIREE = "retiree"
    EMPLOYER = "employer"
    STAFF = "staff"


@dataclass(frozen=True)
class Profile:
    telegram_user_id: int
    language: str
    role: Role | None


class UnknownLanguage(ValueError):
    pass


class ProfileService:
    def __init__(self, uow_factory: UnitOfWorkFactory, default_language: str = "zh_Hans") -> None:
        if default_language not in LANGUAGES:
            raise UnknownLanguage(default_language)
        self._uow_factory = uow_factory
        self._default_language = default_language

    async def greet(self, telegram_user_id: int, chat_id: int) -> Profile:
        """The profile of someone who just arrived (or came back), created on first contact."""
        async with self._uow_factory() as uow:
            user = await self._get_or_create(uow, telegram_user_id, chat_id)
            await uow.commit()
            return _profile(user)

    async def record_bot_error(
        self, code: str, detail: str = "", *, chat_id: int | None = None, context: dict | None = None
    ) -> None:
        """An error record of source "bot" (a forged button, a handler that failed); `detail`
        and `context` never hold personal data."""
        await record_error(self._uow_factory, "bot", code, detail, chat_id=chat_id, context=context)

    async def profile(self, telegram_user_id: int) -> Profile:
        async with self._uow_factory() as uow:
            user = await uow.bot_users.get(telegram_user_id)
            if user is None:
                return Profile(telegram_user_id, self._default_language, None)
            return _profile(user)

    async def set_language(self, telegram_user_id: int, chat_id: int, language: str) -> Profile:
        if language not in LANGUAGES:
            raise UnknownLanguage(language)
        async with self._uow_factory() as uow:
            user = await self._get_or_create(uow, telegram_user_id, chat_id)
            user.language = language
            await uow.commit()
            return _profile(user)

    async def set_role(self, telegram_user_id: int, chat_id: int, role: Role) -> Profile:
        async with self._uow_factory() as uow:
            user = await self._get_or_create(uow, telegram_user_id, chat_id)
            user.role = Role(role).value
            await uow.commit()
            return _profile(user)

    async def _get_or_create(self, uow, telegram_user_id: int, chat_id: int) -> BotUser:
        user = await uow.bot_users.get(telegram_user_id)
        if user is None:
            user = BotUser(
                telegram_user_id=telegram_user_id, chat_id=chat_id, language=self._default_language
            )
            uow.bot_users.add(user)
            await uow.flush()
        return user


def _profile(user: BotUser) -> Profile:
    return Profile(user.telegram_user_id, user.language, Role(user.role) if user.role else None)
