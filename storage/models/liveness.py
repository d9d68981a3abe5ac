"""Models of liveness and anti-fraud: the challenges a retiree is asked to perform, and the
fingerprints of every video or photo sent, so that media seen before is refused.

A fingerprint holds a SHA-256 of the bytes and, per sampled frame, a 64-bit perceptual hash
and a 6 x 6 grid of mean brightness: none of them can be turned back into a face, so they
are kept when consent is withdrawn (the retiree link is then cleared) and still stop that
recording from being sent again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from storage.models import Base, utcnow


class LivenessChallenge(Base):
    """Actions asked of one retiree, in order; single use, and void after `expires_at`.

    mode "together": one video note shows every action; "stepwise" (after a failed try): one
    video note per action, `step` counting those done."""

    __tablename__ = "liveness_challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"), index=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    actions: Mapped[list[str]] = mapped_column(JSON)  # ["blink", "turn_left"]
    mode: Mapped[str] = mapped_column(String(10), default="together")
    step: Mapped[int] = mapped_column(Integer, default=0)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(12))  # "passed" | "failed" | "replaced"


class MediaFingerprint(Base):
    """What a submitted video or photo looked like, to refuse it when it comes again."""

    __tablename__ = "media_fingerprints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "video" | "photo"
    retiree_id: Mapped[int | None] = mapped_column(ForeignKey("retirees.id", ondelete="SET NULL"))
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("certification_attempts.id", ondelete="SET NULL")
    )
    # fingerprints.Recording.to_json(): a dHash and a brightness grid per sampled frame
    recording: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FrameBand(Base):
    """One 16-bit band of one frame's perceptual hash: an index to find candidate earlier
    recordings quickly (two hashes within 3 bits of each other share at least one band)."""

    __tablename__ = "media_frame_bands"
    __table_args__ = (Index("ix_frame_bands_value", "band", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint_id: Mapped[int] = mapped_column(
        ForeignKey("media_fingerprints.id", ondelete="CASCADE"), index=True
    )
    band: Mapped[int] = mapped_column(SmallInteger)  # 0..3
    value: Mapped[int] = mapped_column(Integer)  # 0..65535
