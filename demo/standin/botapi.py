"""The Bot API endpoint ``/bot{token}/{method}`` and file downloads ``/file/bot{token}/{path}``.

Order of checks mirrors Telegram: a malformed token or unknown method is 404, an unknown token
401, then an injected fault (so tests can make any call fail), then the method itself. Every
call is logged first, so tests can count calls that failed too.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
from aiohttp import web

# Importing the api_* modules registers their methods.
from demo.standin import api_media, api_messages, api_misc, api_updates  # noqa: F401
from demo.standin.errors import ApiError
from demo.standin.params import Params, read_params
from demo.standin.registry import METHODS, Call, Described
from demo.standin.state import TOKEN_PATTERN, StandinState

log = logging.getLogger(__name__)


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False), status=status, content_type="application/json"
    )


def _error(error: ApiError) -> web.Response:
    return _json(error.payload(), status=error.error_code)


def _chat_id(params: Params) -> int | None:
    try:
        return params.integer("chat_id")
    except ApiError:
        return None


async def handle_bot_api(
    request: web.Request, state: StandinState, http: aiohttp.ClientSession | None
) -> web.Response:
    """Authenticate, parse, log, apply faults, dispatch; answer in Telegram's envelope."""
    token = request.match_info["token"]
    name = request.match_info["method"]
    if not TOKEN_PATTERN.match(token):
        return _error(ApiError(404, "Not Found"))
    if not state.accepts(token):
        return _error(ApiError(401, "Unauthorized"))
    entry = METHODS.get(name.lower())
    record = state.calls.add(entry[0] if entry else name, None)
    try:
        params = await read_params(request)
        record.chat_id = _chat_id(params)
        if entry is None:
            log.warning("Bot API method %r is not simulated by the stand-in; answering 404", name)
            raise ApiError(404, "Not Found")
        fault = state.faults.take(entry[0])
        if fault is not None:
            raise fault
        result = await entry[1](Call(state=state, token=token, params=params, http=http))
    except ApiError as error:
        record.ok, record.error_code = False, error.error_code
        log.debug("%s -> %s %s", name, error.error_code, error.description)
        return _error(error)
    record.ok = True
    if isinstance(result, Described):
        return _json({"ok": True, "result": result.result, "description": result.description})
    return _json({"ok": True, "result": result})


def download(request: web.Request, state: StandinState) -> web.Response:
    """Serve a file at the path getFile returned, for the token that owns the bot."""
    token = request.match_info["token"]
    if not TOKEN_PATTERN.match(token) or not state.accepts(token):
        return _error(ApiError(401, "Unauthorized"))
    stored = state.files.by_path.get(request.match_info["file_path"])
    if stored is None:
        return _error(ApiError(404, "Not Found"))
    return web.Response(body=stored.data, content_type=stored.mime_type)
