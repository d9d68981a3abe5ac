"""The one clock of the domain services: aware UTC time. Tests pass their own callable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A time read back from the database, made aware: SQLite hands back naive datetimes,
    and every time stored by this product is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
