"""Models of staff training (training/): lessons read and the days studied, exam sittings
with every answer and the marking, certificates and their revocation, and the audit trail of
all of it. Staff members are not personal data of retirees; the staff name printed on a
certificate stays in `staff_members`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import storage.models.certification  # noqa: F401  (everything here refers to staff members)
from storage.models import Base, utcnow


class LessonRead(Base):
    """A staff member finished a lesson (read its last step); the first time counts."""

    __tablename__ = "training_lessons_read"
    __table_args__ = (UniqueConstraint("staff_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[str] = mapped_column(String(80))
    module_id: Mapped[str] = mapped_column(String(40))
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TrainingDay(Base):
    """A day (the region's local date) a staff member studied: at least one lesson finished
    that day in the bot, or a day of classroom training a supervisor recorded. The notice asks
    for at least three days of training, shown per person."""

    __tablename__ = "training_days"
    __table_args__ = (UniqueConstraint("staff_id", "studied_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id", ondelete="CASCADE"), index=True)
    region_code: Mapped[str] = mapped_column(String(6))
    studied_on: Mapped[date] = mapped_column(Date)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lessons: Mapped[int] = mapped_column(Integer, default=0)
    # The supervisor who recorded the staff member's presence at a classroom session that day.
    classroom_recorded_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="SET NULL")
    )


class ExamSitting(Base):
    """One paper drawn for one candidate: the questions, the answers as given (kept as they
    came, question by question), and the marking once submitted."""

    __tablename__ = "exam_sittings"
    __table_args__ = (Index("ix_exam_sittings_region_started", "region_code", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id", ondelete="CASCADE"), index=True)
    region_code: Mapped[str] = mapped_column(String(6))
    question_ids: Mapped[list[str]] = mapped_column(JSON)
    answers: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deadline_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    right: Mapped[int | None] = mapped_column(Integer)
    total: Mapped[int | None] = mapped_column(Integer)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    # The digest of the question bank the paper was marked with: marking can be checked again.
    bank_digest: Mapped[str] = mapped_column(String(64))


class TrainingCertificate(Base):
    """培训合格证书: issued on a pass, checked by number and code, revoked by a supervisor."""

    __tablename__ = "training_certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id", ondelete="CASCADE"), index=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("exam_sittings.id", ondelete="CASCADE"), unique=True)
    region_code: Mapped[str] = mapped_column(String(6))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id", ondelete="SET NULL"))
    revocation_reason: Mapped[str | None] = mapped_column(String(500))


class TrainingEvent(Base):
    """The audit trail: a paper drawn, an answer given, a submission marked or refused, a
    certificate issued or revoked; who, when, and the particulars (no personal data)."""

    __tablename__ = "training_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    event: Mapped[str] = mapped_column(String(30))
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), index=True
    )
    sitting_id: Mapped[int | None] = mapped_column(ForeignKey("exam_sittings.id", ondelete="CASCADE"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
