"""Settings → storage → services: built once per process and closed on the way out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from accounts.profiles import ProfileService
from app.settings import Settings
from bot.services import BotServices
from storage.db import create_engine, create_session_factory
from storage.protection import PersonalDataVault
from storage.schema import ensure_schema
from storage.uow import UnitOfWorkFactory, unit_of_work_factory


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    uow_factory: UnitOfWorkFactory
    vault: PersonalDataVault
    bot_services: BotServices


@asynccontextmanager
async def open_runtime(settings: Settings, *, auto_upgrade: bool = True) -> AsyncIterator[Runtime]:
    engine = create_engine(settings.database_url)
    try:
        await ensure_schema(engine, auto_upgrade=auto_upgrade)
        uow_factory = unit_of_work_factory(create_session_factory(engine))
        vault = PersonalDataVault(*settings.personal_data_keys())
        bot_services = BotServices(profiles=ProfileService(uow_factory, settings.default_language))
        yield Runtime(settings, engine, uow_factory, vault, bot_services)
    finally:
        await engine.dispose()
