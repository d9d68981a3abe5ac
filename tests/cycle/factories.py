"""Rows for the cycle tests, written straight through the storage models."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from storage.models import BotUser, Retiree
from storage.models.certification import Binding

SHANGHAI = ZoneInfo("Asia/Shanghai")
_numbers = itertools.count(1)


class FakeClock:
    """An aware UTC "now", set in Shanghai local time."""

    def __init__(self, day: date, hour: int = 10, minute: int = 0) -> None:
        self.set(day, hour, minute)

    def set(self, day: date, hour: int = 10, minute: int = 0) -> None:
        self.local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)

    def __call__(self) -> datetime:
        return self.local.astimezone(UTC)


def id_number(birth_date: date) -> str:
    serial = next(_numbers)
    return f"110105{birth_date:%Y%m%d}{serial:03d}X"


async def add_retiree(
    uow_factory,
    vault,
    *,
    name: str = "王秀兰",
    birth_date: date = date(1955, 7, 14),
    due_on: date | None = None,
    last_certified_on: date | None = None,
    pension_region: str = "110000",
    payment_state: str = "active",
) -> int:
    number = id_number(birth_date)
    async with uow_factory() as uow:
        retiree = Retiree(
            id_number_hash=vault.lookup_hash(number),
            id_number_encrypted=vault.encrypt(number),
            name=name,
            birth_date=birth_date,
            pension_region=pension_region,
            residence_region="440300",
            pension_start=date(2015, 8, 1),
            last_certified_on=last_certified_on,
            due_on=due_on,
            payment_state=payment_state,
        )
        uow.session.add(retiree)
        await uow.commit()
        return retiree.id


async def bind(
    uow_factory,
    retiree_id: int,
    telegram_user_id: int,
    *,
    kind: str = "self",
    language: str | None = "zh_Hans",
    revoked: bool = False,
) -> None:
    async with uow_factory() as uow:
        if language and await uow.bot_users.get(telegram_user_id) is None:
            uow.bot_users.add(
                BotUser(telegram_user_id=telegram_user_id, chat_id=telegram_user_id, language=language)
            )
        uow.bindings.add(
            Binding(
                telegram_user_id=telegram_user_id,
                chat_id=telegram_user_id,
                retiree_id=retiree_id,
                kind=kind,
                revoked_at=datetime.now(UTC) if revoked else None,
            )
        )
        await uow.commit()
