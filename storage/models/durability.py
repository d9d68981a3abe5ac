"""Models that keep the product honest across crashes and restarts: the update inbox (an
update is stored before Telegram is told it arrived) and the fingerprints of the keys the
database was written with (so that a lost key is noticed, not silently replaced)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from storage.models import Base, utcnow


class InboxUpdate(Base):
    """One Telegram update, stored when it arrives and marked done once handled.

    `state`: "pending" (stored, not yet handled, or interrupted by an outage: handled again),
    "done" (handled), "failed" (a handler error that repeating would not cure; recorded).
    The payload is the update as Telegram sent it: it holds personal data, so rows are
    deleted once done and a short retention has passed.
    """

    __tablename__ = "update_inbox"
    __table_args__ = (Index("ix_update_inbox_state_received", "state", "received_at"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The kind of the last failure (an exception class name), never its message.
    last_error: Mapped[str | None] = mapped_column(String(100))


class KeyFingerprint(Base):
    """A keyed fingerprint of one of the keys protecting personal data ("data_key",
    "id_hash_key"): written with the first data, compared at every start."""

    __tablename__ = "key_fingerprints"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
