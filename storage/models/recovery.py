"""Models of the recovery of pensions paid after entitlement ended (a death, mostly):
the case with the amount owed, and every step of it (notices, letters, an agreed plan of
instalments, amounts recovered, a write-off that needs a second staff member's approval).

Amounts are whole fen (BigInteger): never a float.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from storage.models import Base, utcnow


class RecoveryState(StrEnum):
    OPEN = "open"  # owed, nothing agreed yet
    AGREED = "agreed"  # a plan of instalments agreed with the family
    RECOVERED = "recovered"  # paid back in full
    WRITE_OFF_REQUESTED = "write_off_requested"  # one staff member asked; a second must approve
    WRITTEN_OFF = "written_off"


class RecoveryCase(Base):
    __tablename__ = "recovery_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"), index=True)
    region: Mapped[str] = mapped_column(String(6), index=True)  # the paying region
    death_record_id: Mapped[int | None] = mapped_column(ForeignKey("death_records.id", ondelete="SET NULL"))
    entitlement_ended_on: Mapped[date] = mapped_column(Date)
    overpaid_months: Mapped[list[str]] = mapped_column(JSON, default=list)  # ["2026-03", ...]
    monthly_fen: Mapped[int] = mapped_column(BigInteger)
    overpaid_fen: Mapped[int] = mapped_column(BigInteger)
    recovered_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(20), default=RecoveryState.OPEN.value, index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RecoveryStep(Base):
    """One step of a recovery case: kind notice | letter | plan | payment | write_off_request
    | write_off_approval | write_off_refusal."""

    __tablename__ = "recovery_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("recovery_cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
