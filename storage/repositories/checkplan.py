"""Repository of the check plan: on-site checks proposed, assigned and done."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.checkplan import OnSiteCheck


class CheckPlanRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, check: OnSiteCheck) -> None:
        self._session.add(check)

    async def get(self, check_id: int) -> OnSiteCheck | None:
        return await self._session.get(OnSiteCheck, check_id)
