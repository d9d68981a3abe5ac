"""Models of remote certification: bindings, consent, reference faces, attempts,
certifications, review cases, audits of passes, staff, reminders, suspensions and the audit
trail.

Face templates and evidence (the photos a retiree sent) are encrypted, and are deleted
outright when consent is withdrawn; the attempt rows keep only a hash of the evidence.
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
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

import storage.models.liveness  # noqa: F401  (attempts refer to its challenges)
from storage.models import Base, utcnow


class BindingCode(Base):
    """The one-time code printed on the notice letter, used with the ID number to bind."""

    __tablename__ = "binding_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_encrypted: Mapped[bytes] = mapped_column(LargeBinary)  # for re-printing the letter
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(60), default="roster_import")
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Binding(Base):
    """A Telegram account linked to a retiree: the retiree themself, or a helper."""

    __tablename__ = "bindings"
    __table_args__ = (UniqueConstraint("telegram_user_id", "retiree_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "self" | "helper"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BindingFailure(Base):
    """A failed binding try; five within 24 hours lock binding for that account."""

    __tablename__ = "binding_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Consent(Base):
    """The separate consent to biometric processing (PIPL: sensitive personal information)."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"), index=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    decision: Mapped[str] = mapped_column(String(12))  # "agree" | "not_now" | "no_face"
    text_version: Mapped[str] = mapped_column(String(20))
    given_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReferenceFace(Base):
    """A face template of a retiree, encrypted; the roster photo or one enrolled by staff."""

    __tablename__ = "reference_faces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"), index=True)
    template_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    engine: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(20))  # "roster" | "staff"
    quality: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(60))


class StaffRole(StrEnum):
    STAFF = "staff"
    SUPERVISOR = "supervisor"


class StaffMember(Base):
    """Community or agency staff; they bind their Telegram account with a staff code."""

    __tablename__ = "staff_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_number: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(String(6))
    staff_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # StaffRole: a supervisor approves write-offs and, with a prefecture or province code,
    # sees every region below it in the console.
    role: Mapped[str] = mapped_column(String(12), default="staff", server_default="staff")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewCase(Base):
    """A doubtful certification for staff to decide, with the attempts as evidence."""

    __tablename__ = "review_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"), index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    opened_because: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)


class AttemptOutcome(StrEnum):
    """What one attempt came to, as its row keeps it."""

    PASS = "pass"
    FAIL = "fail"  # counted towards the failed tries that open a review
    RETRY = "retry"  # an unusable capture: not counted
    STEP = "step"  # one action of a stepwise challenge done, the next still to film
    REVIEW = "review"  # the failure that put the case before staff
    REFUSED = "refused"  # nothing judged, or a fraud cue not counted as a try


class CertificationAttempt(Base):
    """One try: a selfie (or a staff-assisted check) and what came of it.

    `idempotency_key` names the Telegram message that carried it, so a retried update
    after a crash finds the attempt already written instead of counting it twice.
    """

    __tablename__ = "certification_attempts"
    __table_args__ = (Index("ix_attempts_retiree_time", "retiree_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    channel: Mapped[str] = mapped_column(String(20))  # "photo" | "document" | "video_note" | "assisted"
    outcome: Mapped[str] = mapped_column(String(10))  # an AttemptOutcome
    reason: Mapped[str] = mapped_column(String(40))
    distance: Mapped[float | None] = mapped_column(Float)
    quality: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
    helper_binding_id: Mapped[int | None] = mapped_column(ForeignKey("bindings.id", ondelete="SET NULL"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    review_case_id: Mapped[int | None] = mapped_column(ForeignKey("review_cases.id"), index=True)
    # The liveness challenge a video note answered (None for photos).
    challenge_id: Mapped[int | None] = mapped_column(
        ForeignKey("liveness_challenges.id", ondelete="SET NULL")
    )


class PassAudit(Base):
    """A self-service pass put before staff after the fact (verification/certification/pass_audit.py): drawn
    for the random share, or scoring over the risk threshold. The certification stands while
    it waits; staff confirm it or open a review case (`review_case_id`)."""

    __tablename__ = "pass_audits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("certification_attempts.id", ondelete="SET NULL"), unique=True
    )
    certification_id: Mapped[int | None] = mapped_column(ForeignKey("certifications.id", ondelete="SET NULL"))
    region: Mapped[str] = mapped_column(String(6), index=True)  # the retiree's residence region
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open|confirmed|review_opened
    score: Mapped[int] = mapped_column(Integer)
    # [{"code": "thin_match", "points": 2, "value": 0.031}, ...] (verification.certification.pass_risk)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    sampled: Mapped[bool] = mapped_column(Boolean, default=False)  # drawn for the random share
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_case_id: Mapped[int | None] = mapped_column(ForeignKey("review_cases.id"))


class Evidence(Base):
    """The photo behind an attempt, encrypted; kept for review, deleted on withdrawal."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("certification_attempts.id", ondelete="CASCADE"), unique=True
    )
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"), index=True)
    media_type: Mapped[str] = mapped_column(String(40))
    data_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Certification(Base):
    """A successful certification: the retiree is entitled until `valid_until`."""

    __tablename__ = "certifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"), index=True)
    certified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    certified_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(20))  # "self_photo" | "review" | "assisted" | ...
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("certification_attempts.id", ondelete="SET NULL")
    )
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    # Where an assisted certification took place (a service point, "home visit", a ward).
    place: Mapped[str | None] = mapped_column(String(200))


class Reminder(Base):
    """A reminder sent (or due) before a certification falls due; one row per recipient."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("retiree_id", "due_on", "days_before", "chat_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    days_before: Mapped[int] = mapped_column(Integer)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Suspension(Base):
    """Payment suspended for want of certification; resumed with months to pay back."""

    __tablename__ = "suspensions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"), index=True)
    suspended_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(40))
    resumed_on: Mapped[date | None] = mapped_column(Date)
    back_pay_months: Mapped[list[str]] = mapped_column(JSON, default=list)  # ["2026-03", "2026-04"]


class AuditEntry(Base):
    """Who did what to whom: every staff decision and every deletion of personal data."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(60))  # "staff:12", "user:123456", "system"
    action: Mapped[str] = mapped_column(String(60))
    retiree_id: Mapped[int | None] = mapped_column(ForeignKey("retirees.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
