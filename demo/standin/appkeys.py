"""Typed keys under which the stand-in keeps its objects on the aiohttp application."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from demo.standin.state import StandinState

STATE_KEY = web.AppKey("standin_state", StandinState)
HTTP_KEY = web.AppKey("standin_http", aiohttp.ClientSession)
"""Outgoing HTTP: webhook delivery and fetching file URLs given to send methods."""
