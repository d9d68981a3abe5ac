"""Models of the employer assistant: the questions the bot could not answer with
confidence, queued for staff, and the staff's answers.

The question text is stored as the employer wrote it, except that anything that looks like
an ID number or a mobile phone number is masked first (see content.employer_service).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from storage.models import Base, utcnow


class EmployerQuestion(Base):
    """A question handed to staff: open until a staff member answers it in the bot."""

    __tablename__ = "employer_questions"
    __table_args__ = (Index("ix_employer_questions_status_asked", "status", "asked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    # The entries the bot found closest (ids), to help staff and the editor.
    closest: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="open", server_default="open")
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The message that asked it ("tg:<chat id>:<message id>"): a re-delivered update
    # (after a crash or an outage) finds its question instead of asking it twice.
    source_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    # Set when the question and its answer were exported as a draft entry for an editor.
    exported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
