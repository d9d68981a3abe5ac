"""Repositories of remote certification. Each area keeps its queries in its own class."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.certification_models import (
    AuditEntry,
    Binding,
    BindingCode,
    BindingFailure,
    Certification,
    CertificationAttempt,
    Consent,
    Evidence,
    ReferenceFace,
    Reminder,
    ReviewCase,
    StaffMember,
    Suspension,
)


class _Repository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, row) -> None:
        self._session.add(row)


class BindingRepository(_Repository):
    async def active_for_user(self, telegram_user_id: int) -> Sequence[Binding]:
        query = select(Binding).where(
            Binding.telegram_user_id == telegram_user_id, Binding.revoked_at.is_(None)
        )
        return (await self._session.execute(query.order_by(Binding.id))).scalars().all()

    async def active_for_retiree(self, retiree_id: int) -> Sequence[Binding]:
        query = select(Binding).where(Binding.retiree_id == retiree_id, Binding.revoked_at.is_(None))
        return (await self._session.execute(query.order_by(Binding.id))).scalars().all()

    async def code_by_hash(self, code_hash: str) -> BindingCode | None:
        result = await self._session.execute(select(BindingCode).where(BindingCode.code_hash == code_hash))
        return result.scalar_one_or_none()

    async def failures_since(self, telegram_user_id: int, since) -> int:
        query = select(BindingFailure).where(
            BindingFailure.telegram_user_id == telegram_user_id, BindingFailure.at >= since
        )
        return len((await self._session.execute(query)).scalars().all())


class ConsentRepository(_Repository):
    async def current(self, retiree_id: int) -> Consent | None:
        query = (
            select(Consent)
            .where(Consent.retiree_id == retiree_id, Consent.withdrawn_at.is_(None))
            .order_by(Consent.id.desc())
            .limit(1)
        )
        return (await self._session.execute(query)).scalar_one_or_none()


class StaffRepository(_Repository):
    async def get(self, staff_id: int) -> StaffMember | None:
        return await self._session.get(StaffMember, staff_id)

    async def by_code_hash(self, code_hash: str) -> StaffMember | None:
        result = await self._session.execute(
            select(StaffMember).where(StaffMember.staff_code_hash == code_hash)
        )
        return result.scalar_one_or_none()

    async def by_telegram_user(self, telegram_user_id: int) -> StaffMember | None:
        query = select(StaffMember).where(
            StaffMember.telegram_user_id == telegram_user_id, StaffMember.active.is_(True)
        )
        return (await self._session.execute(query)).scalar_one_or_none()


class FaceRepository(_Repository):
    async def references(self, retiree_id: int) -> Sequence[ReferenceFace]:
        query = select(ReferenceFace).where(ReferenceFace.retiree_id == retiree_id).order_by(ReferenceFace.id)
        return (await self._session.execute(query)).scalars().all()

    async def delete_for_retiree(self, retiree_id: int) -> int:
        result = await self._session.execute(
            delete(ReferenceFace).where(ReferenceFace.retiree_id == retiree_id)
        )
        return result.rowcount or 0


class AttemptRepository(_Repository):
    async def by_key(self, idempotency_key: str) -> CertificationAttempt | None:
        query = select(CertificationAttempt).where(CertificationAttempt.idempotency_key == idempotency_key)
        return (await self._session.execute(query)).scalar_one_or_none()

    async def since(self, retiree_id: int, since) -> Sequence[CertificationAttempt]:
        query = (
            select(CertificationAttempt)
            .where(CertificationAttempt.retiree_id == retiree_id, CertificationAttempt.at >= since)
            .order_by(CertificationAttempt.id)
        )
        return (await self._session.execute(query)).scalars().all()

    async def for_case(self, review_case_id: int) -> Sequence[CertificationAttempt]:
        query = (
            select(CertificationAttempt)
            .where(CertificationAttempt.review_case_id == review_case_id)
            .order_by(CertificationAttempt.id)
        )
        return (await self._session.execute(query)).scalars().all()


class EvidenceRepository(_Repository):
    async def for_attempt(self, attempt_id: int) -> Evidence | None:
        result = await self._session.execute(select(Evidence).where(Evidence.attempt_id == attempt_id))
        return result.scalar_one_or_none()

    async def delete_for_retiree(self, retiree_id: int) -> int:
        result = await self._session.execute(delete(Evidence).where(Evidence.retiree_id == retiree_id))
        return result.rowcount or 0


class CertificationRepository(_Repository):
    async def latest(self, retiree_id: int) -> Certification | None:
        query = (
            select(Certification)
            .where(Certification.retiree_id == retiree_id)
            .order_by(Certification.certified_at.desc(), Certification.id.desc())
            .limit(1)
        )
        return (await self._session.execute(query)).scalar_one_or_none()


class ReviewRepository(_Repository):
    async def get(self, case_id: int) -> ReviewCase | None:
        return await self._session.get(ReviewCase, case_id)

    async def pending(self, limit: int = 20) -> Sequence[ReviewCase]:
        query = select(ReviewCase).where(ReviewCase.status == "pending").order_by(ReviewCase.id).limit(limit)
        return (await self._session.execute(query)).scalars().all()

    async def open_for_retiree(self, retiree_id: int) -> ReviewCase | None:
        query = select(ReviewCase).where(ReviewCase.retiree_id == retiree_id, ReviewCase.status == "pending")
        return (await self._session.execute(query.limit(1))).scalar_one_or_none()


class ReminderRepository(_Repository):
    async def exists(self, retiree_id: int, due_on, days_before: int, chat_id: int) -> Reminder | None:
        query = select(Reminder).where(
            Reminder.retiree_id == retiree_id,
            Reminder.due_on == due_on,
            Reminder.days_before == days_before,
            Reminder.chat_id == chat_id,
        )
        return (await self._session.execute(query)).scalar_one_or_none()


class SuspensionRepository(_Repository):
    async def open_for_retiree(self, retiree_id: int) -> Suspension | None:
        query = select(Suspension).where(Suspension.retiree_id == retiree_id, Suspension.resumed_on.is_(None))
        return (await self._session.execute(query.limit(1))).scalar_one_or_none()


class AuditRepository(_Repository):
    async def for_retiree(self, retiree_id: int) -> Sequence[AuditEntry]:
        query = select(AuditEntry).where(AuditEntry.retiree_id == retiree_id).order_by(AuditEntry.id)
        return (await self._session.execute(query)).scalars().all()
