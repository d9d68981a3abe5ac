"""Retirees with a monthly pension, staff of two regions and a fixed clock, on a real database."""

from __future__ import annotations

from datetime import UTC, date, datetime

from storage.models import Retiree
from storage.models.certification import Binding, StaffMember
from verification.recovery.cases import open_recovery_case
from verification.recovery.service import RecoveryService
from verification.roster.synthetic import synthetic_id_number

PAYING = "440300"  # the retirees' paying region
# Two staff members of the paying region (a write-off needs both), one of a region further off.
CLERK, SECOND, FAR = 930100, 930101, 930102
CLERK_NUMBER, SECOND_NUMBER, FAR_NUMBER = "R-01", "R-02", "R-09"
HELPER_CHAT = 777001
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def add_staff(uow_factory) -> None:
    async with uow_factory() as uow:
        for number, user, region in (
            (CLERK_NUMBER, CLERK, "440300"),
            (SECOND_NUMBER, SECOND, "440000"),  # the province covers the city; a supervisor
            (FAR_NUMBER, FAR, "310000"),
        ):
            uow.staff.add(
                StaffMember(
                    staff_number=number,
                    name=f"员工{number}",
                    region_code=region,
                    staff_code_hash=f"hash-{number}",
                    telegram_user_id=user,
                    role="supervisor" if user == SECOND else "staff",
                )
            )
        await uow.commit()


async def add_retiree(
    uow_factory,
    vault,
    *,
    serial: int = 1,
    monthly_fen: int | None = 325050,
    helper_chat: int | None = HELPER_CHAT,
    name: str = "张秀英",
) -> int:
    number = synthetic_id_number("440305", date(1945, 5, 6), serial)
    async with uow_factory() as uow:
        retiree = Retiree(
            id_number_hash=vault.lookup_hash(number),
            id_number_encrypted=vault.encrypt(number),
            name=name,
            birth_date=date(1945, 5, 6),
            pension_region=PAYING,
            residence_region="440305",
            pension_start=date(2005, 6, 1),
            monthly_pension_fen=monthly_fen,
        )
        uow.session.add(retiree)
        await uow.flush()
        if helper_chat is not None:
            uow.bindings.add(
                Binding(
                    telegram_user_id=helper_chat, chat_id=helper_chat, retiree_id=retiree.id, kind="helper"
                )
            )
        await uow.commit()
        return retiree.id


async def open_case(
    uow_factory,
    retiree_id: int,
    *,
    died_on: date = date(2026, 7, 20),
    stopped_on: date = date(2026, 11, 26),
    death_record_id: int | None = None,
) -> int | None:
    """Opens a case the way the death-record import does: inside its transaction."""
    async with uow_factory() as uow:
        retiree = await uow.retirees.existing(retiree_id)
        case = await open_recovery_case(
            uow,
            retiree,
            entitlement_ended_on=died_on,
            payment_stopped_on=stopped_on,
            death_record_id=death_record_id,
            at=NOW,
        )
        await uow.commit()
        return case.id if case else None


def service(uow_factory, vault, clock: Clock | None = None) -> RecoveryService:
    return RecoveryService(uow_factory, vault, clock=clock or Clock(), region_code=PAYING)
