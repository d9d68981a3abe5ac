"""The log of Bot API calls and the faults tests inject into it.

Tests need to see what the bot *did* (e.g. that PTB retried sendMessage after a 429), and to
make Telegram misbehave on purpose; both hang off the method name, case-insensitively, since
Telegram treats method names that way.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from dataclasses import asdict, dataclass, field
from typing import Any

from demo.standin.errors import ApiError, too_many_requests

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: fault injected by the stand-in",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class CallRecord:
    """One Bot API request as received: which method, for which chat, when, and how it ended."""

    method: str
    chat_id: int | None
    time: float
    ok: bool | None = None
    error_code: int | None = None

    def json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CallLog:
    """Every Bot API call in arrival order."""

    records: list[CallRecord] = field(default_factory=list)

    def add(self, method: str, chat_id: int | None) -> CallRecord:
        record = CallRecord(method=method, chat_id=chat_id, time=time.time())
        self.records.append(record)
        return record

    def select(self, method: str | None = None) -> list[CallRecord]:
        """Calls of ``method`` (case-insensitive), or all calls."""
        if method is None:
            return list(self.records)
        wanted = method.lower()
        return [record for record in self.records if record.method.lower() == wanted]


@dataclass
class FaultBook:
    """Queued failures per method: each call of the method consumes one until none is left."""

    queued: defaultdict[str, deque[ApiError]] = field(default_factory=lambda: defaultdict(deque))

    def inject(
        self,
        method: str,
        error_code: int,
        *,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
    ) -> ApiError:
        """Make the next ``count`` calls of ``method`` fail with ``error_code``."""
        if error_code == 429:
            error = too_many_requests(retry_after if retry_after is not None else 1)
            if description:
                error.description = description
        else:
            default = _DEFAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")
            parameters = {"retry_after": retry_after} if retry_after is not None else None
            error = ApiError(error_code, description or default, parameters)
        self.queued[method.lower()].extend([error] * max(0, count))
        return error

    def take(self, method: str) -> ApiError | None:
        """The failure the next call of ``method`` must answer with, if one is queued."""
        queue = self.queued.get(method.lower())
        return queue.popleft() if queue else None

    def clear(self) -> None:
        self.queued.clear()
