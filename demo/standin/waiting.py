"""A wake-up primitive for long polls.

Long polling (getUpdates, the control API's ``wait=``) must return as soon as something happens,
not on the next tick of a sleep loop. :class:`Signal` lets any number of waiters sleep until the
state changes; waiters re-check their own condition after each wake-up, so spurious wake-ups are
harmless and no lock is needed (everything runs on one event loop).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Signal:
    """Edge-triggered broadcast: :meth:`fire` wakes everyone currently in :meth:`wait`."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        """Wake all current waiters; later waiters wait for the next fire."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> bool:
        """Sleep until the next :meth:`fire` or ``seconds`` pass; True when fired."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def wait_until(self, ready: Callable[[], bool], seconds: float) -> bool:
        """Wait until ``ready()`` holds (checked at every fire) or ``seconds`` pass."""
        deadline = time.monotonic() + max(0.0, seconds)
        while not ready():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await self.wait(remaining)
        return True
