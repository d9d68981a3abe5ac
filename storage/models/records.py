"""Verification records (a hash chain per region) and the region exchange: the outbox of
records owed to paying regions, records taken in from other regions, and seen nonces.

Records name a retiree only by the keyed hash of the ID number, never the number itself.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from storage.models import Base, utcnow


class ChainHead(Base):
    """The last record of a region's chain; locked (FOR UPDATE) by every append."""

    __tablename__ = "record_chain_heads"

    region: Mapped[str] = mapped_column(String(6), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class VerificationRecord(Base):
    """One event (certified, review decision, suspended, resumed); `hash` covers the
    canonical JSON of the record and the previous record's hash."""

    __tablename__ = "verification_records"
    __table_args__ = (
        UniqueConstraint("region", "seq"),
        # The console and the quarterly report count a region's records by time, from the
        # index alone on PostgreSQL (an index-only scan: what they read is included).
        Index(
            "ix_verification_records_residence_covering",
            "residence_region",
            "occurred_at",
            postgresql_include=["event", "method", "retiree_hash", "detail"],
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_uid: Mapped[str] = mapped_column(String(36), unique=True)
    region: Mapped[str] = mapped_column(String(6))
    seq: Mapped[int] = mapped_column(Integer)
    retiree_hash: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[str] = mapped_column(String(40))  # ISO 8601 UTC, exactly as hashed
    residence_region: Mapped[str] = mapped_column(String(6))
    pension_region: Mapped[str] = mapped_column(String(6))
    method: Mapped[str] = mapped_column(String(20))
    evidence_hash: Mapped[str | None] = mapped_column(String(64))
    staff_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class OutboxEntry(Base):
    """A record owed to another (paying) region; written in the event's transaction."""

    __tablename__ = "record_outbox"
    __table_args__ = (Index("ix_record_outbox_pending", "dest_region", "delivered_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("verification_records.id", ondelete="CASCADE"))
    dest_region: Mapped[str] = mapped_column(String(6))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # pending|delivered|deferred (refused as not the receiver's retiree, retried with back-off)
    # |refused (final: listed for staff by `records refused`)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    last_error: Mapped[str] = mapped_column(Text, default="")
    refused_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # first refusal


class ReceivedRecord(Base):
    """A record taken in from another region; (origin, record_uid) is unique: once only."""

    __tablename__ = "received_records"
    __table_args__ = (UniqueConstraint("origin_region", "record_uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin_region: Mapped[str] = mapped_column(String(6))
    record_uid: Mapped[str] = mapped_column(String(36))
    retiree_hash: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[str] = mapped_column(String(40))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SeenNonce(Base):
    """A request nonce, kept until its timestamp could no longer be accepted."""

    __tablename__ = "exchange_nonces"

    origin_region: Mapped[str] = mapped_column(String(6), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class RequestState(StrEnum):
    """Where an assistance request stands. Asked of this region: open, in progress, answered,
    overdue. Asked by this region of another: sending until the peer accepts it (or refused),
    then open or overdue until its answer arrives, then answered."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    OVERDUE = "overdue"
    SENDING = "sending"
    REFUSED = "refused"


class AssistanceRequest(Base):
    """协查: another region asks this one to check on a retiree who lives here.
    States: open -> in_progress -> answered; open or in_progress past `due_at`: overdue."""

    __tablename__ = "assistance_requests"
    __table_args__ = (UniqueConstraint("origin_region", "request_uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin_region: Mapped[str] = mapped_column(String(6))
    request_uid: Mapped[str] = mapped_column(String(36))
    retiree_hash: Mapped[str] = mapped_column(String(64), index=True)
    question: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default=RequestState.OPEN.value, index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answer: Mapped[str] = mapped_column(Text, default="")
    staff_id: Mapped[int | None] = mapped_column(Integer)


class ChainCheckpoint(Base):
    """A signed anchor of this region's chain head: (region, seq, hash, made_at), signed with
    the region's exchange key (Ed25519), which is kept outside the database. Rewriting or
    removing records up to `seq` no longer matches a checkpoint an attacker cannot re-sign."""

    __tablename__ = "record_checkpoints"
    __table_args__ = (Index("ix_record_checkpoints_region_seq", "region", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(6))
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    made_at: Mapped[str] = mapped_column(String(40))  # ISO 8601 UTC, exactly as signed
    signature: Mapped[str] = mapped_column(String(100))  # base64 Ed25519


class PeerChainHead(Base):
    """The latest signed head of another region's chain seen with its exchange requests.
    A head that goes backwards (lower seq, or the same seq with another hash) is not taken:
    it is kept in `conflict` for staff, since the sender's chain was cut or rewritten."""

    __tablename__ = "peer_chain_heads"

    origin_region: Mapped[str] = mapped_column(String(6), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    made_at: Mapped[str] = mapped_column(String(40))
    signature: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    conflict: Mapped[str] = mapped_column(Text, default="")
