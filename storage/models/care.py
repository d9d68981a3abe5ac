"""Models of care around certification: home visits asked for by a retiree or a helper, and
life events (a death, a hospital stay) reported by a relative.

The certificate number and any photo of the certificate are personal data: encrypted, like
the ID number, and deleted with the retiree's other evidence.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow


class HomeVisitRequest(Base):
    """A retiree who cannot certify alone asks staff of the region of residence to come."""

    __tablename__ = "home_visit_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"), index=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)  # the retiree's residence region
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    requested_by: Mapped[int | None] = mapped_column(BigInteger)  # Telegram user id (retiree or helper)
    reason: Mapped[str] = mapped_column(String(30))  # "cannot_film" | "failed_tries" | "hospital" | "other"
    note_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)  # address hints, phone: personal
    state: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open|done|cancelled
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    certification_id: Mapped[int | None] = mapped_column(ForeignKey("certifications.id", ondelete="SET NULL"))


class LifeEventReport(Base):
    """A relative reports that a retiree died or is in hospital; staff review each report."""

    __tablename__ = "life_event_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "death" | "hospital"
    event_date: Mapped[date] = mapped_column(Date)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The relative's Telegram user id; None for a death another agency's feed recorded.
    reporter_user_id: Mapped[int | None] = mapped_column(BigInteger)
    # "relative" (a report in the chat) or the feed's source name ("death_household", ...).
    source: Mapped[str] = mapped_column(String(40), default="relative", server_default="relative")
    reporter_relation: Mapped[str] = mapped_column(String(30), default="")
    certificate_number_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    document_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)  # photo of the certificate
    document_media_type: Mapped[str | None] = mapped_column(String(40))
    review_case_id: Mapped[int | None] = mapped_column(ForeignKey("review_cases.id"))
    state: Mapped[str] = mapped_column(
        String(12), default="pending", index=True
    )  # pending|confirmed|rejected
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str] = mapped_column(Text, default="")
