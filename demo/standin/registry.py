"""The table of simulated Bot API methods and what a handler receives.

Handlers live in the ``api_*`` modules, one concern each, and register themselves with
:func:`method`; the dispatcher in :mod:`demo.standin.botapi` looks them up case-insensitively,
because Telegram does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from demo.standin.params import Params
from demo.standin.state import StandinState


@dataclass
class Call:
    """One Bot API request, authenticated and parsed."""

    state: StandinState
    token: str
    params: Params
    http: aiohttp.ClientSession | None = None
    """For methods that fetch an HTTP URL given instead of a file, as Telegram does."""

    @property
    def bot(self) -> dict[str, Any]:
        return self.state.bot_user(self.token)


@dataclass
class Described:
    """A result that comes with a top-level ``description`` (setWebhook's "Webhook was set")."""

    result: Any
    description: str


Handler = Callable[[Call], Awaitable[Any]]
METHODS: dict[str, tuple[str, Handler]] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` as Bot API method ``name``."""

    def register(handler: Handler) -> Handler:
        METHODS[name.lower()] = (name, handler)
        return handler

    return register
