"""Repository of staff training: lessons read and days studied, exam sittings, certificates
and the audit trail; and the counts per region and period the quarterly report shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.models.certification import StaffMember
from storage.models.training import ExamSitting, LessonRead, TrainingCertificate, TrainingDay, TrainingEvent


@dataclass(frozen=True)
class StaffTrainingRow:
    """One staff member's training as the console's team page lists it."""

    staff: StaffMember
    lessons_read: int
    days: int
    last_sitting: ExamSitting | None
    certificate: TrainingCertificate | None  # the latest issued, revoked or not


@dataclass(frozen=True)
class TrainingCounts:
    """Staff of a region in a period: who studied (and on how many days at least `min_days`),
    who sat an exam, who passed one."""

    studied: int
    trained: int
    examined: int
    passed: int


class TrainingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- lessons and days -------------------------------------------------------------

    async def lessons_read(self, staff_id: int) -> set[str]:
        query = select(LessonRead.lesson_id).where(LessonRead.staff_id == staff_id)
        return set((await self._session.execute(query)).scalars())

    async def days(self, staff_id: int) -> Sequence[TrainingDay]:
        query = select(TrainingDay).where(TrainingDay.staff_id == staff_id).order_by(TrainingDay.studied_on)
        return (await self._session.execute(query)).scalars().all()

    async def day(self, staff_id: int, studied_on: date) -> TrainingDay | None:
        query = select(TrainingDay).where(
            TrainingDay.staff_id == staff_id, TrainingDay.studied_on == studied_on
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    def add(self, row: LessonRead | TrainingDay | ExamSitting | TrainingCertificate | TrainingEvent) -> None:
        self._session.add(row)

    # --- sittings ---------------------------------------------------------------------

    async def sitting(self, sitting_id: int, *, for_update: bool = False) -> ExamSitting | None:
        query = select(ExamSitting).where(ExamSitting.id == sitting_id)
        if for_update:  # two submissions at once: the second waits, then sees the first
            query = query.with_for_update()
        return (await self._session.execute(query)).scalar_one_or_none()

    async def sittings(self, staff_id: int) -> Sequence[ExamSitting]:
        query = select(ExamSitting).where(ExamSitting.staff_id == staff_id).order_by(ExamSitting.id)
        return (await self._session.execute(query)).scalars().all()

    # --- certificates -----------------------------------------------------------------

    async def certificate(self, number: str) -> tuple[TrainingCertificate, StaffMember] | None:
        query = (
            select(TrainingCertificate, StaffMember)
            .join(StaffMember, StaffMember.id == TrainingCertificate.staff_id)
            .where(TrainingCertificate.number == number)
        )
        row = (await self._session.execute(query)).first()
        return (row[0], row[1]) if row else None

    async def valid_certificate(self, staff_id: int) -> TrainingCertificate | None:
        """The staff member's latest certificate not revoked, if any."""
        query = (
            select(TrainingCertificate)
            .where(TrainingCertificate.staff_id == staff_id, TrainingCertificate.revoked_at.is_(None))
            .order_by(TrainingCertificate.id.desc())
            .limit(1)
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    async def holds_valid_certificate(self, staff_id: int) -> bool:
        return await self.valid_certificate(staff_id) is not None

    async def events(self, staff_id: int) -> Sequence[TrainingEvent]:
        query = select(TrainingEvent).where(TrainingEvent.staff_id == staff_id).order_by(TrainingEvent.id)
        return (await self._session.execute(query)).scalars().all()

    async def team(self, region_prefix: str, limit: int = 500) -> list[StaffTrainingRow]:
        """Active staff of regions starting with `region_prefix`, by region and staff number,
        with their training: a few grouped queries over the team, merged here."""
        staff = (
            (
                await self._session.execute(
                    select(StaffMember)
                    .where(
                        StaffMember.active, StaffMember.region_code.startswith(region_prefix, autoescape=True)
                    )
                    .order_by(StaffMember.region_code, StaffMember.staff_number)
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
        ids = [member.id for member in staff]
        if not ids:
            return []
        lessons = await self._counts_by_staff(LessonRead.staff_id, ids)
        days = await self._counts_by_staff(TrainingDay.staff_id, ids)
        sittings: dict[int, ExamSitting] = {}
        for sitting in (
            await self._session.execute(
                select(ExamSitting)
                .where(ExamSitting.staff_id.in_(ids), ExamSitting.submitted_at.is_not(None))
                .order_by(ExamSitting.id)
            )
        ).scalars():
            sittings[sitting.staff_id] = sitting  # the latest wins
        certificates: dict[int, TrainingCertificate] = {}
        for certificate in (
            await self._session.execute(
                select(TrainingCertificate)
                .where(TrainingCertificate.staff_id.in_(ids))
                .order_by(TrainingCertificate.id)
            )
        ).scalars():
            certificates[certificate.staff_id] = certificate
        return [
            StaffTrainingRow(
                member,
                int(lessons.get(member.id, 0)),
                int(days.get(member.id, 0)),
                sittings.get(member.id),
                certificates.get(member.id),
            )
            for member in staff
        ]

    async def _counts_by_staff(self, column: InstrumentedAttribute[int], ids: list[int]) -> dict[int, int]:
        query = select(column, func.count()).where(column.in_(ids)).group_by(column)
        return {staff_id: int(count) for staff_id, count in (await self._session.execute(query)).all()}

    # --- the report -------------------------------------------------------------------

    async def counts(
        self, region_prefix: str, first: date, end: date, since: datetime, until: datetime, min_days: int
    ) -> TrainingCounts:
        """Staff of regions starting with `region_prefix` ("" for all): studied on a day in
        [first, end) (the local dates); trained: of those, `min_days` days or more studied by
        `end`; examined: submitted a paper in [since, until); passed: a certificate issued in
        [since, until), revoked or not (the quarter's work)."""
        in_region = StaffMember.region_code.startswith(region_prefix, autoescape=True)
        days_by_end = (
            select(TrainingDay.staff_id, func.count().label("days"))
            .where(TrainingDay.studied_on < end)
            .group_by(TrainingDay.staff_id)
            .subquery()
        )
        studied_then = select(TrainingDay.staff_id).where(
            TrainingDay.studied_on >= first, TrainingDay.studied_on < end
        )
        studied = (
            select(func.count(), func.count().filter(days_by_end.c.days >= min_days))
            .select_from(StaffMember)
            .join(days_by_end, days_by_end.c.staff_id == StaffMember.id)
            .where(in_region, StaffMember.id.in_(studied_then))
        )
        studied_count, trained = (await self._session.execute(studied)).one()
        examined = (
            select(func.count(func.distinct(ExamSitting.staff_id)))
            .join(StaffMember, StaffMember.id == ExamSitting.staff_id)
            .where(in_region, ExamSitting.submitted_at >= since, ExamSitting.submitted_at < until)
        )
        passed = (
            select(func.count(func.distinct(TrainingCertificate.staff_id)))
            .join(StaffMember, StaffMember.id == TrainingCertificate.staff_id)
            .where(
                and_(in_region, TrainingCertificate.issued_at >= since, TrainingCertificate.issued_at < until)
            )
        )
        return TrainingCounts(
            int(studied_count),
            int(trained),
            int((await self._session.execute(examined)).scalar_one()),
            int((await self._session.execute(passed)).scalar_one()),
        )
