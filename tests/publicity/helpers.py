"""Shared set-up for the publicity tests: people, subscriptions, a staff member."""

from __future__ import annotations

from datetime import date

from storage.models import BotUser, Retiree
from storage.models.certification import Binding, StaffMember

STAFF_USER = 9000


async def add_people(uow_factory, ids, *, role="retiree", language="zh_Hans", topic="certification") -> None:
    async with uow_factory() as uow:
        for user_id in ids:
            uow.session.add(BotUser(telegram_user_id=user_id, chat_id=user_id, language=language, role=role))
        await uow.session.flush()
        for user_id in ids:
            if topic:
                await uow.publicity.subscribe(user_id, topic)
        await uow.commit()


async def add_staff(uow_factory, user_id: int = STAFF_USER, region: str = "110000") -> None:
    async with uow_factory() as uow:
        uow.session.add(
            StaffMember(
                staff_number=f"S{user_id}",
                name="Staff",
                region_code=region,
                staff_code_hash=f"{user_id:064d}",
                telegram_user_id=user_id,
            )
        )
        await uow.commit()


async def bind_retiree(
    uow_factory, user_id: int, *, region: str, due_on: date | None, certified: date | None
):
    async with uow_factory() as uow:
        retiree = Retiree(
            id_number_hash=f"{user_id:064d}",
            id_number_encrypted=b"x",
            name="R",
            birth_date=date(1950, 1, 1),
            pension_region=region,
            residence_region=region,
            pension_start=date(2010, 1, 1),
            due_on=due_on,
            last_certified_on=certified,
        )
        uow.session.add(retiree)
        await uow.session.flush()
        uow.session.add(
            Binding(telegram_user_id=user_id, chat_id=user_id, retiree_id=retiree.id, kind="self")
        )
        await uow.commit()
