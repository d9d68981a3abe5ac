"""Typed SQLAlchemy models: here the base and what every feature shares (retirees, bot users,
roster imports, error records); each feature's own in a module beside it (care,
certification, durability, employer, liveness, publicity, records). Personal data is stored
only in protected form: ID numbers as a keyed lookup hash plus an encrypted copy, phone
numbers encrypted."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import JSON


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    # Every model here is mapped to a Table; DeclarativeBase types `__table__` as the wider
    # FromClause, which Core's insert()/update() do not take (the annotation SQLAlchemy's
    # maintainers suggest for that case, sqlalchemy/sqlalchemy#9130).
    __table__: ClassVar[Table]


class BotUser(Base):
    """Someone who talks to the bot: their language and the role they chose."""

    __tablename__ = "bot_users"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(16))
    role: Mapped[str | None] = mapped_column(String(16))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Retiree(Base):
    """A pension recipient from the paying agency's roster."""

    __tablename__ = "retirees"
    # The console's lists: a region's retirees by due date (due, overdue); a region's names
    # searched for a fragment in the index alone (an index-only scan), the rows fetched by id.
    # The quarterly report counts a region's roster and finds its retirees' records from the
    # first index alone on PostgreSQL (the payment state and the keyed hash included).
    __table_args__ = (
        Index(
            "ix_retirees_residence_covering",
            "residence_region",
            "due_on",
            postgresql_include=["payment_state", "id_number_hash"],
        ),
        Index("ix_retirees_residence_name", "residence_region", "name", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    pension_region: Mapped[str] = mapped_column(String(6), index=True)
    residence_region: Mapped[str] = mapped_column(String(6), index=True)
    pension_start: Mapped[date] = mapped_column(Date)
    last_certified_on: Mapped[date | None] = mapped_column(Date)
    phone_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    reference_photo_path: Mapped[str | None] = mapped_column(String(500))
    # The certification cycle, kept on the row so that the daily sweeps are one indexed query.
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    payment_state: Mapped[str] = mapped_column(String(12), default="active", server_default="active")
    # The monthly pension in whole fen (optional roster column): what an overpayment is counted in.
    monthly_pension_fen: Mapped[int | None] = mapped_column(BigInteger)
    # Set when the retiree asked not to be certified silently from other agencies' data: their
    # signals are then not matched (not even kept), and they certify in the chat or in person.
    data_matching_opted_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class RosterImport(Base):
    """One run of `roster import`: what file, how many rows went in, how many were refused."""

    __tablename__ = "roster_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(300))
    file_sha256: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_refused: Mapped[int] = mapped_column(Integer, default=0)


class ErrorRecord(Base):
    """Bad input met by the product (a refused row, a corrupt photo, a forged request).

    `detail` and `context` never hold personal data: a row number, a reason code, a hash.
    """

    __tablename__ = "error_records"
    __table_args__ = (Index("ix_error_records_source_time", "source", "occurred_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    source: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(60))
    detail: Mapped[str] = mapped_column(Text, default="")
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    roster_import_id: Mapped[int | None] = mapped_column(ForeignKey("roster_imports.id", ondelete="CASCADE"))
