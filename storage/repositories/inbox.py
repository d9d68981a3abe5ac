"""The update inbox: every Telegram update is stored here before Telegram is told it arrived
(the polling offset advanced, the webhook answered 200), and marked once it was handled.

A crash or a database outage then leaves the update "pending", and it is handled again on
the next start or by the periodic sweep instead of being lost. Only the kind of a failure (an
exception class name) is kept, never its message: that may quote what the person sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.durability import InboxUpdate
from storage.repositories import affected_rows

PENDING, DONE, FAILED = "pending", "done", "failed"


@dataclass(frozen=True)
class IncomingUpdate:
    update_id: int
    chat_id: int | None
    payload: dict[str, Any]  # the Telegram update, as JSON


class InboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def store(self, updates: Sequence[IncomingUpdate], at: datetime) -> set[int]:
        """Stores the updates not stored before; returns the ids that are new.

        An update Telegram delivers again (the offset was not confirmed before a crash, or a
        webhook retried) is not stored twice: INSERT … ON CONFLICT DO NOTHING, on SQLite and
        PostgreSQL alike.
        """
        if not updates:
            return set()
        unique = {item.update_id: item for item in updates}
        rows = [
            dict(
                update_id=item.update_id,
                chat_id=item.chat_id,
                payload=item.payload,
                state=PENDING,
                tries=0,
                received_at=at,
            )
            for item in unique.values()
        ]
        dialect = self._session.bind.dialect.name if self._session.bind else "sqlite"
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(InboxUpdate)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[InboxUpdate.update_id])
            .returning(InboxUpdate.update_id)
        )
        return set((await self._session.execute(statement)).scalars().all())

    async def get(self, update_id: int) -> InboxUpdate | None:
        return await self._session.get(InboxUpdate, update_id)

    async def mark_done(self, update_id: int, at: datetime) -> None:
        await self._session.execute(
            update(InboxUpdate).where(InboxUpdate.update_id == update_id).values(state=DONE, finished_at=at)
        )

    async def mark_failed(self, update_id: int, error_kind: str, at: datetime) -> None:
        """A failure repeating would not cure: kept for the record, never handled again."""
        await self._session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id == update_id)
            .values(state=FAILED, tries=InboxUpdate.tries + 1, last_error=error_kind[:100], finished_at=at)
        )

    async def mark_retry(self, update_id: int, error_kind: str, at: datetime, max_tries: int) -> str:
        """A transient failure: left pending with one more try counted, or failed once
        `max_tries` tries were spent. Returns the state the row is left in."""
        row = await self._session.get(InboxUpdate, update_id, with_for_update=True)
        if row is None:
            return FAILED
        row.tries = (row.tries or 0) + 1
        row.last_error = error_kind[:100]
        if row.tries >= max_tries:
            row.state, row.finished_at = FAILED, at
        else:
            row.state = PENDING
        await self._session.flush()
        return row.state

    async def pending(self, max_tries: int, limit: int = 100) -> Sequence[InboxUpdate]:
        """Updates still to handle, oldest first, whose tries are below `max_tries`."""
        query = (
            select(InboxUpdate)
            .where(InboxUpdate.state == PENDING, InboxUpdate.tries < max_tries)
            .order_by(InboxUpdate.received_at, InboxUpdate.update_id)
            .limit(limit)
        )
        return (await self._session.execute(query)).scalars().all()

    async def purge_done(self, now: datetime, older_than_days: float) -> int:
        """Deletes handled updates finished more than `older_than_days` ago (their payloads
        hold personal data); returns how many."""
        cutoff = now - timedelta(days=older_than_days)
        result = await self._session.execute(
            delete(InboxUpdate)
            .where(InboxUpdate.state == DONE, InboxUpdate.finished_at < cutoff)
            .execution_options(synchronize_session=False)
        )
        return affected_rows(result) or 0
