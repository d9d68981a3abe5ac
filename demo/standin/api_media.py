"""Photos, documents, videos, video notes and getFile.

A file arrives as a multipart upload, as a file_id Telegram issued before (re-sent without new
bytes), or as an HTTP URL that Telegram fetches itself; all three are supported.
"""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from demo.standin.api_messages import send
from demo.standin.content import formatted_text
from demo.standin.errors import FILE_TOO_BIG, bad_request
from demo.standin.files import MAX_DOWNLOAD_BYTES, MAX_UPLOAD_BYTES
from demo.standin.params import Upload
from demo.standin.registry import Call, method

WRONG_FILE = "wrong file identifier/HTTP URL specified"


async def _resolve(call: Call, name: str, kind: str, missing: str) -> Upload | Any:
    """An Upload to store, or the JSON of an already known media object for a reused file_id."""
    given = call.params.input_file(name)
    if isinstance(given, Upload):
        return given
    if not given:
        raise bad_request(missing)
    if given.startswith(("http://", "https://")):
        if kind == "video_note":
            raise bad_request(WRONG_FILE)
        return await _fetch(call.http, given)
    known = call.state.files.media.get(given)
    if known is None:
        raise bad_request(WRONG_FILE)
    if known.kind != kind:
        raise bad_request("type of file mismatch")
    return known.json


async def _fetch(http: aiohttp.ClientSession | None, url: str) -> Upload:
    """Telegram downloads URLs itself; so does the stand-in (within the upload size limit)."""
    if http is None:
        raise bad_request("failed to get HTTP URL content")
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
            response.raise_for_status()
            data = await response.content.read(MAX_UPLOAD_BYTES + 1)
            content_type = response.content_type
    except (aiohttp.ClientError, TimeoutError):
        raise bad_request("failed to get HTTP URL content") from None
    if len(data) > MAX_UPLOAD_BYTES:
        raise bad_request(FILE_TOO_BIG)
    return Upload(data, posixpath.basename(urlsplit(url).path) or None, content_type)


def _caption(call: Call) -> dict[str, Any]:
    return formatted_text(call.params, caption=True)


@method("sendPhoto")
async def send_photo(call: Call) -> dict[str, Any]:
    chat = call.state.writable_chat(call.params.chat_id())
    photo = await _resolve(call, "photo", "photo", "there is no photo in the request")
    if isinstance(photo, Upload):
        photo = await call.state.files.add_photo(photo.data)
        if photo is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
    return send(call, chat, {"photo": photo, **_caption(call)})


@method("sendDocument")
async def send_document(call: Call) -> dict[str, Any]:
    chat = call.state.writable_chat(call.params.chat_id())
    document = await _resolve(call, "document", "document", "there is no document in the request")
    if isinstance(document, Upload):
        upload = document
        document = await call.state.files.add_document(upload.data, upload.filename, upload.content_type)
    return send(call, chat, {"document": document, **_caption(call)})


@method("sendVideo")
async def send_video(call: Call) -> dict[str, Any]:
    chat = call.state.writable_chat(call.params.chat_id())
    video = await _resolve(call, "video", "video", "there is no video in the request")
    if isinstance(video, Upload):
        size = (call.params.integer("width") or 640, call.params.integer("height") or 640)
        video = call.state.files.add_video(video.data, *size, call.params.integer("duration") or 0)
    return send(call, chat, {"video": video, **_caption(call)})


@method("sendVideoNote")
async def send_video_note(call: Call) -> dict[str, Any]:
    chat = call.state.writable_chat(call.params.chat_id())
    note = await _resolve(call, "video_note", "video_note", "there is no video note in the request")
    if isinstance(note, Upload):
        length = call.params.integer("length") or 384
        duration = call.params.integer("duration") or 5
        note = call.state.files.add_video_note(note.data, length, duration)
    return send(call, chat, {"video_note": note})


@method("getFile")
async def get_file(call: Call) -> dict[str, Any]:
    stored = call.state.files.files.get(call.params.text("file_id") or "")
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.size > MAX_DOWNLOAD_BYTES:
        raise bad_request(FILE_TOO_BIG)
    return stored.file_json()
