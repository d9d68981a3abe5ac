"""A retiree's choice about certification from other agencies' data (silent certification).

On by default, as the agencies' practice is; a retiree, or a helper beside them, can turn it
off in 🔒 My data. Off means: no signal of theirs is kept or matched any more (a feed's row for
them is refused as "opted_out"), the signals kept so far are deleted, and they certify in the
chat or in person. The certifications those signals already gave stand: they are the legal
record of the year. Each change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.binding import bound_retirees
from kernel.clock import Clock, utc_now
from storage.models import Retiree
from storage.models.certification import AuditEntry
from storage.uow import UnitOfWork, UnitOfWorkFactory


class NotBound(Exception):
    """The account is not bound to that retiree."""


@dataclass(frozen=True)
class DataMatchingChoice:
    retiree_id: int
    name: str = field(repr=False)
    allowed: bool


class DataMatchingService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock = utc_now) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    async def choices(self, telegram_user_id: int) -> list[DataMatchingChoice]:
        async with self._uow_factory() as uow:
            return [
                DataMatchingChoice(retiree.id, retiree.name, retiree.data_matching_opted_out_at is None)
                for retiree in await self._bound(uow, telegram_user_id)
            ]

    @staticmethod
    async def _bound(uow: UnitOfWork, telegram_user_id: int) -> list[Retiree]:
        return [
            await uow.retirees.existing(retiree_id)
            for retiree_id, _ in await bound_retirees(uow, telegram_user_id)
        ]

    async def choose(self, telegram_user_id: int, retiree_id: int, allowed: bool) -> int:
        """Turn data matching on or off; returns how many kept signals were deleted."""
        now = self._clock()
        async with self._uow_factory() as uow:
            bound = {retiree.id: retiree for retiree in await self._bound(uow, telegram_user_id)}
            retiree = bound.get(retiree_id)
            if retiree is None:
                raise NotBound(retiree_id)
            deleted = 0
            if allowed:
                retiree.data_matching_opted_out_at = None
            else:
                retiree.data_matching_opted_out_at = retiree.data_matching_opted_out_at or now
                deleted = await uow.signals.delete_for_retiree(retiree_id)
            uow.audit.add(
                AuditEntry(
                    at=now,
                    actor=f"user:{telegram_user_id}",
                    action="data_matching_allowed" if allowed else "data_matching_withdrawn",
                    retiree_id=retiree_id,
                    detail={"signals_deleted": deleted},
                )
            )
            await uow.commit()
            return deleted
