"""Models of the staff console on the web: the one-time sign-in links the bot hands staff."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

import storage.models.certification  # noqa: F401  (links refer to staff members)
from storage.models import Base, utcnow


class ConsoleSignInLink(Base):
    """A link the bot sent a staff member (🔑): valid for minutes, good once. Only the keyed
    hash of its token is kept, so the table alone signs nobody in."""

    __tablename__ = "console_sign_in_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
