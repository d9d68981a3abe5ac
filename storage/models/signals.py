"""Models of life-signal feeds: what other agencies' systems tell of a retiree (a medical
settlement, a bank counter visit, a death registered), the imports that brought them, the
suspected false claims a death record reveals, and the chat notices the imports leave for the
bot to send.

Signals name a retiree by the internal id only: the ID numbers in a feed are matched by the
keyed lookup hash and never stored.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from storage.models import Base, utcnow


class SignalImport(Base):
    """One feed taken in: a file (`signals import`) or a signed request of another agency."""

    __tablename__ = "signal_imports"
    __table_args__ = (Index("ix_signal_imports_source_sha", "source", "file_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))  # "file" | "endpoint"
    file_name: Mapped[str] = mapped_column(String(300))
    file_sha256: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_matched: Mapped[int] = mapped_column(Integer, default=0)  # new signals kept
    rows_repeated: Mapped[int] = mapped_column(Integer, default=0)  # already on file: not counted again
    rows_refused: Mapped[int] = mapped_column(Integer, default=0)
    certified: Mapped[int] = mapped_column(Integer, default=0)
    deaths: Mapped[int] = mapped_column(Integer, default=0)


class LifeSignal(Base):
    """A sign of life from another system; (retiree, source, day) is kept once."""

    __tablename__ = "life_signals"
    __table_args__ = (
        UniqueConstraint("retiree_id", "source", "observed_on"),
        Index("ix_life_signals_retiree_day", "retiree_id", "observed_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(40))
    observed_on: Mapped[date] = mapped_column(Date)
    in_person: Mapped[bool] = mapped_column(Boolean, default=False)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("signal_imports.id", ondelete="SET NULL"))
    # The certification this signal gave, if it gave one.
    certification_id: Mapped[int | None] = mapped_column(ForeignKey("certifications.id", ondelete="SET NULL"))


class DeathRecord(Base):
    """A death registered by another agency (household registration, cremation, certificate)."""

    __tablename__ = "death_records"
    __table_args__ = (UniqueConstraint("retiree_id", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(40))
    died_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("signal_imports.id", ondelete="SET NULL"))
    # The case staff confirm it with (a life-event report of kind "death", source "data").
    life_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("life_event_reports.id", ondelete="SET NULL")
    )


class SuspicionState(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"  # false claiming: recovery and a referral follow
    DISMISSED = "dismissed"  # explained (e.g. a wrong death date, corrected at the source)


class SuspectedFalseClaim(Base):
    """A death dated before a later certification or life signal: someone proved the life of
    a person already dead. `evidence` lists what stands against the death record, by id."""

    __tablename__ = "suspected_false_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"), index=True)
    death_record_id: Mapped[int] = mapped_column(ForeignKey("death_records.id", ondelete="CASCADE"))
    region: Mapped[str] = mapped_column(String(6), index=True)  # the retiree's residence region
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # [{"kind": "certification", "id": 3, "on": "2026-05-02", "method": "video_note"}, ...]
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(10), default=SuspicionState.OPEN.value, index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str] = mapped_column(String(500), default="")


# The param naming the employer question a staff answer notice carries (its text is read
# back when the notice is sent: params hold no personal data).
EMPLOYER_QUESTION_PARAM = "employer_question_id"


class ChatNotice(Base):
    """A message owed to a chat, written in the transaction of what it tells (a silent
    certification, a death record, a recovery notice, a staff answer given in the console)
    and sent by the bot's notice job, so a feed imported from the command line still reaches
    the retiree and helpers, once."""

    __tablename__ = "chat_notices"
    __table_args__ = (Index("ix_chat_notices_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    retiree_id: Mapped[int | None] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # no personal data
    for_helper: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending|sent|failed
