"""Publicity: subscriptions to topics, broadcast campaigns and their deliveries.

A delivery row is claimed (unique per campaign and chat) before the message goes out and
marked after, so a sender that crashes resumes where it was (content/publicity/sender.py).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from storage.models import Base, utcnow


class PublicitySubscription(Base):
    """One person subscribed to one topic (opt-in; a blocked chat loses its rows)."""

    __tablename__ = "publicity_subscriptions"
    __table_args__ = (UniqueConstraint("telegram_user_id", "topic", name="uq_publicity_subscription"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    topic: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CampaignStatus(StrEnum):
    """draft -> scheduled -> running -> done; staff may pause (and resume) or cancel."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


class PublicityCampaign(Base):
    """A message composed by staff for one topic's subscribers in a segment."""

    __tablename__ = "publicity_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text)
    photo: Mapped[str | None] = mapped_column(String(300))  # a Telegram file_id
    segment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default=CampaignStatus.DRAFT.value, index=True)
    send_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recipients_ready: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PublicityDelivery(Base):
    """One recipient of one campaign: pending -> sending (claimed) -> sent | failed | blocked.

    A row still `sending` once its lease (from `claimed_at`) has passed may or may not have
    reached the chat: it goes back to `pending` and is sent again (at least once), or after
    too many claims (`attempts`) becomes `uncertain`."""

    __tablename__ = "publicity_deliveries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "chat_id", name="uq_publicity_delivery"),
        Index("ix_publicity_deliveries_campaign_status", "campaign_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("publicity_campaigns.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(40))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
