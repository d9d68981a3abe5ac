"""Errors answered the way the real Bot API answers them.

Handlers raise :class:`ApiError`; the dispatcher turns it into the JSON body and HTTP status that
``api.telegram.org`` would send, so PTB maps it to the same exception class it would raise in
production (BadRequest, Forbidden, RetryAfter, InvalidToken, Conflict, NetworkError).
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A failed Bot API call: HTTP status == ``error_code``, as Telegram does."""

    def __init__(self, error_code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram sends for this error."""
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    """400 with Telegram's ``Bad Request: `` prefix."""
    return ApiError(400, f"Bad Request: {reason}")


def forbidden(reason: str) -> ApiError:
    """403 with Telegram's ``Forbidden: `` prefix."""
    return ApiError(403, f"Forbidden: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    """429 carrying ``parameters.retry_after``, which PTB turns into ``RetryAfter``."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


CHAT_NOT_FOUND = "chat not found"
BOT_BLOCKED = "bot was blocked by the user"
FILE_TOO_BIG = "file is too big"
