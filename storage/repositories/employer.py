"""Repositories of the employer assistant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.employer import EmployerQuestion
from storage.repositories import affected_rows


class EmployerQuestionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, question: EmployerQuestion) -> None:
        self._session.add(question)

    async def get(self, question_id: int) -> EmployerQuestion | None:
        return await self._session.get(EmployerQuestion, question_id)

    async def open(self, limit: int = 10) -> Sequence[EmployerQuestion]:
        query = (
            select(EmployerQuestion)
            .where(EmployerQuestion.status == "open")
            .order_by(EmployerQuestion.asked_at, EmployerQuestion.id)
            .limit(limit)
        )
        return (await self._session.execute(query)).scalars().all()

    async def count_open(self) -> int:
        query = select(func.count()).select_from(EmployerQuestion).where(EmployerQuestion.status == "open")
        return (await self._session.execute(query)).scalar_one()

    async def by_source_key(self, source_key: str) -> EmployerQuestion | None:
        """The question a message asked ("tg:<chat id>:<message id>"), if it was stored."""
        query = select(EmployerQuestion).where(EmployerQuestion.source_key == source_key)
        return (await self._session.execute(query)).scalars().first()

    async def open_by_user(self, telegram_user_id: int, question: str) -> EmployerQuestion | None:
        """The same question from the same person still waiting: asked twice, queued once."""
        query = select(EmployerQuestion).where(
            EmployerQuestion.telegram_user_id == telegram_user_id,
            EmployerQuestion.status == "open",
            EmployerQuestion.question == question,
        )
        return (await self._session.execute(query)).scalars().first()

    async def answer(self, question_id: int, staff_id: int, answer: str, at: datetime) -> bool:
        """Record the answer unless someone answered first; True when this answer was kept."""
        result = await self._session.execute(
            update(EmployerQuestion)
            .where(EmployerQuestion.id == question_id, EmployerQuestion.status == "open")
            .values(status="answered", answer=answer, answered_by=staff_id, answered_at=at)
        )
        return (affected_rows(result) or 0) == 1

    async def answered(self, question_ids: Sequence[int]) -> dict[int, EmployerQuestion]:
        """The answered questions among `question_ids`, by id."""
        if not question_ids:
            return {}
        query = select(EmployerQuestion).where(
            EmployerQuestion.id.in_(list(question_ids)), EmployerQuestion.answer.is_not(None)
        )
        return {row.id: row for row in (await self._session.execute(query)).scalars()}

    async def answered_not_exported(self) -> Sequence[EmployerQuestion]:
        query = (
            select(EmployerQuestion)
            .where(EmployerQuestion.status == "answered", EmployerQuestion.exported_at.is_(None))
            .order_by(EmployerQuestion.answered_at, EmployerQuestion.id)
        )
        return (await self._session.execute(query)).scalars().all()

    async def mark_exported(self, ids: Sequence[int], at: datetime) -> None:
        if ids:
            await self._session.execute(
                update(EmployerQuestion).where(EmployerQuestion.id.in_(list(ids))).values(exported_at=at)
            )
