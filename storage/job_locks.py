"""One run at a time of a timed job across every process of a deployment.

Several schedulers (`serve --role scheduler` replicas, or a `run` process beside them) tick
the same jobs; each run first takes a PostgreSQL advisory lock named after the job, on a
connection of its own, and a scheduler that does not get it skips that tick. The lock is
the server's: it goes with the connection when its holder dies, so a killed scheduler never
leaves a job locked. On SQLite (the embedded default: one process) every run goes ahead.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for the name (advisory locks are keyed by bigint)."""
    return int.from_bytes(hashlib.sha256(f"pension-bot job {name}".encode()).digest()[:8], "big", signed=True)


class JobLocks:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[bool]:
        """Yields True while this process holds the job's lock, False when another does."""
        if self._engine.dialect.name != "postgresql":
            yield True
            return
        async with self._engine.connect() as connection:
            key = lock_key(name)
            result = await connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
            taken = bool(result.scalar())
            await connection.commit()  # the lock is the session's, not the transaction's
            try:
                yield taken
            finally:
                if taken:
                    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    await connection.commit()
