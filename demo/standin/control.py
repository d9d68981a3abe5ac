"""The control API (``/control/...``): tests and the demo page act as the Telegram user here.

Contract documented in ``standin/README.md``. Errors are ``{"error": "..."}`` with a 4xx status;
parameters may come as JSON, form fields or (for files) multipart, like the Bot API side.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from demo.standin.appkeys import STATE_KEY
from demo.standin.errors import ApiError
from demo.standin.params import Params, Upload, read_params
from demo.standin.state import ControlError, StandinState
from demo.standin.views import chat_view

MAX_WAIT_SECONDS = 30.0
routes = web.RouteTableDef()
Endpoint = Callable[[web.Request], Awaitable[web.Response]]


def _reply(body: Any, status: int = 200) -> web.Response:
    text = json.dumps(body, ensure_ascii=False)
    return web.Response(text=text, status=status, content_type="application/json")


def endpoint(handler: Endpoint) -> Endpoint:
    """Turn refusals into ``{"error": ...}`` answers instead of aiohttp's HTML error pages."""

    async def wrapped(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except ControlError as error:
            return _reply({"error": error.message}, error.status)
        except ApiError as error:
            return _reply({"error": error.description}, error.error_code)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


def _state(request: web.Request) -> StandinState:
    return request.app[STATE_KEY]


def _int(params: Params, name: str, default: int | None = None) -> int:
    try:
        value = params.integer(name)
    except ApiError:
        raise ControlError(400, f"{name} must be an integer") from None
    if value is None:
        if default is None:
            raise ControlError(400, f"{name} is required")
        return default
    return value


def _user(params: Params) -> dict[str, Any] | None:
    try:
        user = params.json("user")
    except ApiError:
        raise ControlError(400, "user must be a JSON object") from None
    if user is not None and not isinstance(user, dict):
        raise ControlError(400, "user must be a JSON object")
    return user


def _file(params: Params) -> Upload:
    upload = params.uploads.get("file")
    if upload is None:
        raise ControlError(400, "a multipart file part named 'file' is required")
    return upload


def _caption(params: Params) -> dict[str, Any]:
    caption = params.text("caption")
    return {"caption": caption} if caption else {}


def _path_chat_id(request: web.Request) -> int:
    try:
        return int(request.match_info["chat_id"])
    except ValueError:
        raise ControlError(400, "chat_id must be an integer") from None


def _sent(state: StandinState, params: Params, content: dict[str, Any]) -> web.Response:
    update_id, message = state.user_message(_int(params, "chat_id"), content, _user(params))
    return _reply({"update_id": update_id, "message": message})


@routes.get("/control/health")
@endpoint
async def health(request: web.Request) -> web.Response:
    return _reply({"ok": True})


@routes.post("/control/updates/message")
@endpoint
async def post_message(request: web.Request) -> web.Response:
    """The user sends text; a leading /command gets its bot_command entity."""
    params = await read_params(request)
    text = params.text("text")
    if not text:
        raise ControlError(400, "text is required")
    return _sent(_state(request), params, {"text": text})


@routes.post("/control/updates/contact")
@endpoint
async def post_contact(request: web.Request) -> web.Response:
    """The user shares their own contact (user_id = the sender)."""
    params = await read_params(request)
    state = _state(request)
    phone = params.text("phone_number")
    if not phone:
        raise ControlError(400, "phone_number is required")
    chat_id = _int(params, "chat_id")
    sender = state.user_json(chat_id, _user(params))
    contact = {"phone_number": phone, "first_name": params.text("first_name") or sender["first_name"]}
    last_name = params.text("last_name") or sender.get("last_name")
    if last_name:
        contact["last_name"] = last_name
    contact["user_id"] = sender["id"]
    return _sent(state, params, {"contact": contact})


@routes.post("/control/updates/photo")
@endpoint
async def post_photo(request: web.Request) -> web.Response:
    """A photo as Telegram delivers it (several JPEG sizes), or as a file when asked or not an image."""
    params = await read_params(request)
    state = _state(request)
    upload = _file(params)
    content: dict[str, Any] | None = None
    if not params.flag("as_document"):
        sizes = await state.files.add_photo(upload.data)
        content = {"photo": sizes} if sizes is not None else None
    if content is None:
        document = await state.files.add_document(upload.data, upload.filename, upload.content_type)
        content = {"document": document}
    return _sent(state, params, {**content, **_caption(params)})


@routes.post("/control/updates/document")
@endpoint
async def post_document(request: web.Request) -> web.Response:
    params = await read_params(request)
    state = _state(request)
    upload = _file(params)
    document = await state.files.add_document(upload.data, upload.filename, upload.content_type)
    return _sent(state, params, {"document": document, **_caption(params)})


@routes.post("/control/updates/video_note")
@endpoint
async def post_video_note(request: web.Request) -> web.Response:
    params = await read_params(request)
    state = _state(request)
    upload = _file(params)
    note = state.files.add_video_note(upload.data, _int(params, "length", 384), _int(params, "duration", 5))
    content: dict[str, Any] = {"video_note": note}
    if params.text("forwarded_from"):
        # Forwarded from someone who hides their account: Telegram then names them only.
        content["forward_origin"] = {
            "type": "hidden_user",
            "sender_user_name": params.text("forwarded_from"),
            "date": int(time.time()) - 86400,
        }
    return _sent(state, params, content)


@routes.post("/control/updates/callback")
@endpoint
async def post_callback(request: web.Request) -> web.Response:
    """The user presses an inline button of the bot's message ``message_id``."""
    params = await read_params(request)
    data = params.text("data")
    if data is None:
        raise ControlError(400, "data is required")
    update_id, query_id = _state(request).press_button(
        _int(params, "chat_id"), _int(params, "message_id"), data, _user(params)
    )
    return _reply({"update_id": update_id, "callback_query_id": query_id})


@routes.get("/control/chats")
@endpoint
async def list_chats(request: web.Request) -> web.Response:
    chats = [
        {"chat_id": chat.id, "user": chat.user, "blocked": chat.blocked,
         "message_count": len(chat.messages), "version": chat.version}
        for chat in _state(request).chats.values()
    ]  # fmt: skip
    return _reply({"chats": chats})


@routes.get("/control/chats/{chat_id}/messages")
@endpoint
async def chat_messages(request: web.Request) -> web.Response:
    """The chat log; ``wait`` long-polls for a message past ``after_id`` (or a change past ``since``)."""
    state = _state(request)
    chat_id = _path_chat_id(request)
    params = Params(dict(request.query), {})
    after_id = _int(params, "after_id", 0)
    since = params.integer("since") if params.has("since") else None
    wait = min(max(params.number("wait") or 0.0, 0.0), MAX_WAIT_SECONDS)

    def ready() -> bool:
        chat = state.chat(chat_id)
        if state.updates.closing:
            return True
        if chat is None:
            return False
        return chat.version > since if since is not None else chat.next_message_id - 1 > after_id

    if wait:
        await state.changed.wait_until(ready, wait)
    return _reply(chat_view(state.chat(chat_id), chat_id, after_id, since))


@routes.post("/control/chats/{chat_id}/block")
@endpoint
async def block(request: web.Request) -> web.Response:
    chat = _state(request).set_blocked(_path_chat_id(request), True)
    return _reply({"ok": True, "chat_id": chat.id, "blocked": True})


@routes.post("/control/chats/{chat_id}/unblock")
@endpoint
async def unblock(request: web.Request) -> web.Response:
    chat = _state(request).set_blocked(_path_chat_id(request), False)
    return _reply({"ok": True, "chat_id": chat.id, "blocked": False})


@routes.get("/control/files/{file_id}")
@endpoint
async def get_file(request: web.Request) -> web.Response:
    stored = _state(request).files.files.get(request.match_info["file_id"])
    if stored is None:
        raise ControlError(404, "unknown file_id")
    headers = None
    if stored.file_name:
        headers = {"Content-Disposition": f"inline; filename*=UTF-8''{quote(stored.file_name)}"}
    return web.Response(body=stored.data, content_type=stored.mime_type, headers=headers)


@routes.post("/control/faults")
@endpoint
async def inject_fault(request: web.Request) -> web.Response:
    """The next ``count`` calls of ``method`` fail with ``error_code`` (429 carries retry_after)."""
    params = await read_params(request)
    method = params.text("method")
    if not method:
        raise ControlError(400, "method is required")
    count = _int(params, "count", 1)
    error = _state(request).faults.inject(
        method,
        _int(params, "error_code"),
        description=params.text("description"),
        retry_after=params.integer("retry_after"),
        count=count,
    )
    return _reply({"ok": True, "method": method, "count": count, "response": error.payload()})


@routes.delete("/control/faults")
@endpoint
async def clear_faults(request: web.Request) -> web.Response:
    _state(request).faults.clear()
    return _reply({"ok": True})


@routes.get("/control/calls")
@endpoint
async def calls(request: web.Request) -> web.Response:
    records = _state(request).calls.select(request.query.get("method"))
    return _reply({"calls": [record.json() for record in records]})
