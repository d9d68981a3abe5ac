"""Repository of recovery cases and their steps."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.recovery import RecoveryCase, RecoveryState, RecoveryStep

# A case is still being worked on in these states; "recovered" and "written_off" close it.
OPEN_STATES: tuple[str, ...] = (
    RecoveryState.OPEN.value,
    RecoveryState.AGREED.value,
    RecoveryState.WRITE_OFF_REQUESTED.value,
)


class RecoveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, item: RecoveryCase | RecoveryStep) -> None:
        self._session.add(item)

    async def get(self, case_id: int) -> RecoveryCase | None:
        return await self._session.get(RecoveryCase, case_id)

    async def get_for_update(self, case_id: int) -> RecoveryCase | None:
        """The case, its row locked until the transaction ends (PostgreSQL), so that two staff
        members recording a payment at once do not both read the same amount recovered."""
        return (
            await self._session.execute(
                select(RecoveryCase).where(RecoveryCase.id == case_id).with_for_update()
            )
        ).scalar_one_or_none()

    async def open_for_retiree(self, retiree_id: int) -> RecoveryCase | None:
        return (
            await self._session.execute(
                select(RecoveryCase)
                .where(RecoveryCase.retiree_id == retiree_id, RecoveryCase.state.in_(OPEN_STATES))
                .order_by(RecoveryCase.id)
                .limit(1)
            )
        ).scalar_one_or_none()

    async def for_retiree(self, retiree_id: int) -> Sequence[RecoveryCase]:
        return (
            (
                await self._session.execute(
                    select(RecoveryCase)
                    .where(RecoveryCase.retiree_id == retiree_id)
                    .order_by(RecoveryCase.id)
                )
            )
            .scalars()
            .all()
        )

    async def open_cases(self, limit: int = 500) -> Sequence[RecoveryCase]:
        """Open cases of every region, oldest first (the caller keeps those it covers)."""
        query = select(RecoveryCase).where(RecoveryCase.state.in_(OPEN_STATES))
        return (await self._session.execute(query.order_by(RecoveryCase.id).limit(limit))).scalars().all()

    async def steps(self, case_id: int) -> Sequence[RecoveryStep]:
        return (
            (
                await self._session.execute(
                    select(RecoveryStep).where(RecoveryStep.case_id == case_id).order_by(RecoveryStep.id)
                )
            )
            .scalars()
            .all()
        )

    async def last_step(self, case_id: int, kind: str) -> RecoveryStep | None:
        return (
            await self._session.execute(
                select(RecoveryStep)
                .where(RecoveryStep.case_id == case_id, RecoveryStep.kind == kind)
                .order_by(RecoveryStep.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
