"""Repositories of home visits and life-event reports."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.care import HomeVisitRequest, LifeEventReport


class HomeVisitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, request: HomeVisitRequest) -> None:
        self._session.add(request)

    async def get(self, request_id: int) -> HomeVisitRequest | None:
        return await self._session.get(HomeVisitRequest, request_id)

    async def open_for_retiree(self, retiree_id: int) -> HomeVisitRequest | None:
        query = select(HomeVisitRequest).where(
            HomeVisitRequest.retiree_id == retiree_id, HomeVisitRequest.state == "open"
        )
        return (await self._session.execute(query.limit(1))).scalar_one_or_none()

    async def open_oldest(self, limit: int = 500) -> Sequence[HomeVisitRequest]:
        """Open requests of every region, oldest first (the caller keeps those it covers)."""
        query = (
            select(HomeVisitRequest)
            .where(HomeVisitRequest.state == "open")
            .order_by(HomeVisitRequest.requested_at, HomeVisitRequest.id)
            .limit(limit)
        )
        return (await self._session.execute(query)).scalars().all()


class LifeEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, report: LifeEventReport) -> None:
        self._session.add(report)

    async def get(self, report_id: int) -> LifeEventReport | None:
        return await self._session.get(LifeEventReport, report_id)

    async def by_review_case(self, case_id: int) -> LifeEventReport | None:
        query = select(LifeEventReport).where(LifeEventReport.review_case_id == case_id)
        return (await self._session.execute(query.limit(1))).scalar_one_or_none()

    async def pending_for_retiree(self, retiree_id: int, kind: str) -> LifeEventReport | None:
        query = select(LifeEventReport).where(
            LifeEventReport.retiree_id == retiree_id,
            LifeEventReport.kind == kind,
            LifeEventReport.state == "pending",
        )
        return (await self._session.execute(query.limit(1))).scalar_one_or_none()
