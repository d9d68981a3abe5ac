"""Models of the check plan: the retirees proposed each quarter for a check on site, ranked by
risk, assigned to community staff, and what the check found."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from storage.models import Base, utcnow


class CheckState(StrEnum):
    PROPOSED = "proposed"
    ASSIGNED = "assigned"
    DONE = "done"


class CheckResult(StrEnum):
    SEEN = "seen"  # met in person and recognised: a certification on site
    NOT_FOUND = "not_found"  # nobody there: a review case follows
    DECEASED = "deceased"  # the family says so: a death report follows


class OnSiteCheck(Base):
    __tablename__ = "onsite_checks"
    __table_args__ = (UniqueConstraint("retiree_id", "quarter"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retirees.id", ondelete="CASCADE"), index=True)
    region: Mapped[str] = mapped_column(String(6), index=True)  # the residence region
    quarter: Mapped[str] = mapped_column(String(7), index=True)  # "2026Q4"
    score: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"code": ..., "points": ...}]
    state: Mapped[str] = mapped_column(String(10), default=CheckState.PROPOSED.value, index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[str | None] = mapped_column(String(10))
    certification_id: Mapped[int | None] = mapped_column(ForeignKey("certifications.id", ondelete="SET NULL"))
