"""Repository of 协查 (assistance requests): asked of this region, and asked by it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Retiree
from storage.models.certification import StaffMember
from storage.models.records import AssistanceRequest, RequestState
from storage.repositories import affected_rows


class AssistanceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, request: AssistanceRequest) -> None:
        self._session.add(request)

    async def get(self, request_id: int) -> AssistanceRequest | None:
        return await self._session.get(AssistanceRequest, request_id)

    async def by_uid(self, origin_region: str, request_uid: str) -> AssistanceRequest | None:
        statement = select(AssistanceRequest).where(
            AssistanceRequest.origin_region == origin_region, AssistanceRequest.request_uid == request_uid
        )
        return (await self._session.execute(statement)).scalar_one_or_none()

    async def asked_of(
        self, own_region: str, states: Collection[str]
    ) -> Sequence[Row[AssistanceRequest, Retiree | None, str | None]]:
        """(request, the retiree or None, the name of the staff member who started it or None)
        of the requests from other regions in `states`, the oldest due first."""
        rows = (
            await self._session.execute(
                select(AssistanceRequest, Retiree, StaffMember.name)
                .outerjoin(Retiree, Retiree.id_number_hash == AssistanceRequest.retiree_hash)
                .outerjoin(StaffMember, StaffMember.id == AssistanceRequest.staff_id)
                .where(
                    AssistanceRequest.origin_region != own_region,
                    AssistanceRequest.state.in_(states),
                )
                .order_by(AssistanceRequest.due_at, AssistanceRequest.id)
            )
        ).all()
        # Outer joins: SQLAlchemy's row type does not say that their columns may be NULL.
        return cast("Sequence[Row[AssistanceRequest, Retiree | None, str | None]]", rows)

    async def move(self, request_id: int, from_states: Collection[str], **values: Any) -> bool:
        """Set `values` on the request if it is in one of `from_states`; False if it is not.
        Conditional, so that of two colleagues pressing at once only one moves it."""
        moved = await self._session.execute(
            update(AssistanceRequest)
            .where(AssistanceRequest.id == request_id, AssistanceRequest.state.in_(from_states))
            .values(**values)
        )
        return bool(affected_rows(moved))

    async def mark_overdue(self, now: datetime) -> int:
        """Open and in-progress requests past their due time: overdue; returns how many."""
        result = await self._session.execute(
            update(AssistanceRequest)
            .where(
                AssistanceRequest.state.in_([RequestState.OPEN, RequestState.IN_PROGRESS]),
                AssistanceRequest.due_at < now,
            )
            .values(state=RequestState.OVERDUE)
            .execution_options(synchronize_session=False)
        )
        return affected_rows(result) or 0

    async def earlier_by(self, own_region: str, retiree_hash: str, states: Collection[str]) -> int | None:
        """The id of a request this region asked about the retiree that is in `states`."""
        earlier = await self._session.execute(
            select(AssistanceRequest.id).where(
                AssistanceRequest.origin_region == own_region,
                AssistanceRequest.retiree_hash == retiree_hash,
                AssistanceRequest.state.in_(states),
            )
        )
        return earlier.scalars().first()

    async def still_to_send(self, own_region: str) -> list[int]:
        """Ids of the requests this region asked that no peer has accepted yet, oldest first."""
        return list(
            (
                await self._session.execute(
                    select(AssistanceRequest.id)
                    .where(
                        AssistanceRequest.origin_region == own_region,
                        AssistanceRequest.state == RequestState.SENDING,
                    )
                    .order_by(AssistanceRequest.id)
                )
            ).scalars()
        )

    async def settle_sending(self, request_id: int, **values: Any) -> None:
        """Set `values` on the request if it is still "sending"."""
        await self._session.execute(
            update(AssistanceRequest)
            .where(AssistanceRequest.id == request_id, AssistanceRequest.state == RequestState.SENDING)
            .values(**values)
        )

    async def asked_by(self, own_region: str, states: Collection[str]) -> Sequence[AssistanceRequest]:
        """The requests this region asked that are in `states`."""
        return (
            (
                await self._session.execute(
                    select(AssistanceRequest).where(
                        AssistanceRequest.origin_region == own_region, AssistanceRequest.state.in_(states)
                    )
                )
            )
            .scalars()
            .all()
        )

    async def newest_asked_by(
        self, own_region: str, limit: int
    ) -> Sequence[Row[AssistanceRequest, Retiree | None]]:
        """(request, the retiree or None) of the requests this region asked, newest first."""
        rows = (
            await self._session.execute(
                select(AssistanceRequest, Retiree)
                .outerjoin(Retiree, Retiree.id_number_hash == AssistanceRequest.retiree_hash)
                .where(AssistanceRequest.origin_region == own_region)
                .order_by(AssistanceRequest.opened_at.desc(), AssistanceRequest.id.desc())
                .limit(limit)
            )
        ).all()
        # An outer join: SQLAlchemy's row type does not say that the retiree may be missing.
        return cast("Sequence[Row[AssistanceRequest, Retiree | None]]", rows)
