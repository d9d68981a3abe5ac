"""Reading Bot API parameters the way Telegram accepts them.

Telegram takes parameters from the query string, ``application/json``,
``application/x-www-form-urlencoded`` or ``multipart/form-data``. In form encodings every value
is a string and objects (reply_markup, entities, allowed_updates) are JSON inside the string,
which is exactly what PTB sends; in a JSON body they are native. :class:`Params` hides that
difference behind typed getters, and multipart bodies are streamed with a size cap so a 60 MB
upload is refused without being buffered whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from demo.standin.errors import ApiError, bad_request
from demo.standin.files import MAX_UPLOAD_BYTES

_DRAIN_LIMIT = 512 * 1024 * 1024
_CHUNK = 256 * 1024


@dataclass
class Upload:
    """A file part of a multipart request."""

    data: bytes
    filename: str | None
    content_type: str | None


class Params:
    """Typed access to one request's parameters."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload]) -> None:
        self.values = values
        self.uploads = uploads

    def has(self, name: str) -> bool:
        return self.values.get(name) is not None or name in self.uploads

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, *, error: str | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(error or f"invalid {name} specified") from None

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes", "on")
        return bool(value)

    def json(self, name: str, *, error: str | None = None) -> Any:
        """A JSON-valued parameter, decoded when it arrived as a string."""
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(error or f"can't parse {name} JSON object") from None

    def chat_id(self) -> int:
        """``chat_id`` as an int; "@channel" names and garbage do not exist in this stand-in."""
        value = self.values.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None

    def input_file(self, name: str) -> Upload | str | None:
        """An uploaded part (direct or via ``attach://``), else the string (file_id or URL)."""
        if name in self.uploads:
            return self.uploads[name]
        value = self.text(name)
        if value and value.startswith("attach://"):
            upload = self.uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"file attachment {value} not found")
            return upload
        return value


async def read_params(request: web.Request, max_upload: int = MAX_UPLOAD_BYTES) -> Params:
    """Collect query string and body parameters; 413 when a multipart file exceeds ``max_upload``."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.body_exists:
        content_type = request.content_type
        if content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise bad_request("parameters must be a JSON object")
            values.update(body)
        elif content_type == "application/x-www-form-urlencoded":
            values.update(await request.post())
        elif content_type == "multipart/form-data":
            await _read_multipart(request, values, uploads, max_upload)
    return Params(values, uploads)


async def _read_multipart(
    request: web.Request, values: dict[str, Any], uploads: dict[str, Upload], max_upload: int
) -> None:
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        data = bytearray()
        while chunk := await part.read_chunk(_CHUNK):
            data += chunk
            if len(data) > max_upload:
                await _drain(request)
                raise ApiError(413, "Request Entity Too Large")
        if part.filename is not None:
            uploads[part.name] = Upload(bytes(data), part.filename, part.headers.get("Content-Type"))
        else:
            values[part.name] = data.decode(part.get_charset("utf-8"))


async def _drain(request: web.Request) -> None:
    """Read and drop the rest of an oversized body so the client gets our 413, not a reset."""
    drained = 0
    while drained < _DRAIN_LIMIT and (chunk := await request.content.readany()):
        drained += len(chunk)
