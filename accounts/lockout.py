"""Five wrong codes within 24 hours lock an account out of code entry for a while.

One rule for every secret code typed into the bot (binding codes and staff codes), kept in
one table (`binding_failures`): a person guessing codes is stopped whatever kind of code
they guess. The lock lifts 24 hours after the oldest of the five failures that caused it,
i.e. as soon as fewer than five failures remain inside the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kernel.clock import as_utc
from storage.models.certification import BindingFailure
from storage.uow import UnitOfWork

MAX_FAILURES = 5
WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class LockState:
    locked_until: datetime | None  # aware UTC; None when codes may be tried
    tries_left: int

    @property
    def locked(self) -> bool:
        return self.locked_until is not None


async def lock_state(uow: UnitOfWork, telegram_user_id: int, now: datetime) -> LockState:
    """Whether the account may try a code at `now`, and how many tries it has left."""
    recent = await uow.bindings.failure_times_since(telegram_user_id, now - WINDOW, limit=MAX_FAILURES)
    if len(recent) < MAX_FAILURES:
        return LockState(None, MAX_FAILURES - len(recent))
    # Newest first: the fifth newest is the oldest of the five that make the lock.
    return LockState(as_utc(recent[MAX_FAILURES - 1]) + WINDOW, 0)


async def record_failure(uow: UnitOfWork, telegram_user_id: int, now: datetime) -> LockState:
    """Count one wrong code (in the caller's transaction) and return the state after it."""
    uow.bindings.add(BindingFailure(telegram_user_id=telegram_user_id, at=now))
    await uow.flush()
    return await lock_state(uow, telegram_user_id, now)
