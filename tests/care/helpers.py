"""Retirees, staff, helpers and a clock for the care tests, written straight through the models."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from storage.models import Retiree
from storage.models.certification import Binding, StaffMember
from tests.cycle.factories import FakeClock
from verification.roster.synthetic import synthetic_id_number

TODAY = date(2026, 11, 27)
HELPER, STRANGER, STAFF, OTHER_STAFF = 7001, 7002, 7900, 7901


def clock_at(day: date = TODAY) -> FakeClock:
    return FakeClock(day)


async def add_retiree(
    uow_factory, vault, sequence: int, name: str = "王秀英", *, residence: str = "110105", **fields
) -> tuple[int, str]:
    """A retiree on the roster; returns (id, ID number)."""
    number = synthetic_id_number("110105", date(1948, 5, 6), sequence)
    async with uow_factory() as uow:
        retiree = Retiree(
            id_number_hash=vault.lookup_hash(number),
            id_number_encrypted=vault.encrypt(number),
            name=name,
            birth_date=date(1948, 5, 6),
            pension_region="110000",
            residence_region=residence,
            pension_start=date(2008, 6, 1),
            **fields,
        )
        uow.session.add(retiree)
        await uow.commit()
        return retiree.id, number


async def bind(uow_factory, retiree_id: int, user_id: int, kind: str = "helper") -> None:
    async with uow_factory() as uow:
        uow.bindings.add(Binding(telegram_user_id=user_id, chat_id=user_id, retiree_id=retiree_id, kind=kind))
        await uow.commit()


async def add_staff(uow_factory, user_id: int, region: str, number: str) -> int:
    async with uow_factory() as uow:
        member = StaffMember(
            staff_number=number,
            name="赵敏",
            region_code=region,
            staff_code_hash=number,
            telegram_user_id=user_id,
        )
        uow.staff.add(member)
        await uow.commit()
        return member.id


async def rows(uow_factory, model, *where) -> list:
    async with uow_factory() as uow:
        found = (await uow.session.execute(select(model).where(*where).order_by(model.id))).scalars().all()
        uow.session.expunge_all()
        return list(found)
