"""Repository of recovery cases and their steps."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.recovery import RecoveryCase, RecoveryStep


class RecoveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, item: RecoveryCase | RecoveryStep) -> None:
        self._session.add(item)

    async def get(self, case_id: int) -> RecoveryCase | None:
        return await self._session.get(RecoveryCase, case_id)
