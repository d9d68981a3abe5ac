"""Stored files and the media objects (PhotoSize, Document, VideoNote) that point at them.

Telegram never hands a photo back as uploaded: it re-encodes it as JPEG and offers several
sizes, so a bot that picks ``photo[-1]`` gets the largest. The stand-in does the same with
Pillow so code that chooses sizes or feeds photos to face recognition meets realistic input.
Everything lives in memory: the stand-in serves tests and demos, not archives.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import mimetypes
import secrets
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageOps

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""Bots may upload files of at most 50 MB."""
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
"""getFile refuses files above 20 MB (``Bad Request: file is too big``), as Telegram does."""
PHOTO_SIDES = (90, 320, 800, 1280)
"""Long-side sizes of the downscaled copies, like Telegram's s/m/x/y thumbnails."""
JPEG_QUALITY = 87

_FILE_ID_PREFIX = {"photos": "AgACAgIAAxkBAA", "documents": "BQACAgIAAxkBAA", "video_notes": "DQACAgIAAxkBAA",
                   "videos": "BAACAgIAAxkBAA", "thumbnails": "AAMCAgADGQEAA"}  # fmt: skip


@dataclass
class StoredFile:
    """The bytes behind one file_id, and where getFile says it can be downloaded."""

    file_id: str
    file_unique_id: str
    data: bytes
    mime_type: str
    file_path: str
    file_name: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    def file_json(self) -> dict[str, Any]:
        """The ``File`` object getFile answers with."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }


@dataclass
class Media:
    """A sendable media object: ``kind`` is photo, document or video_note; ``json`` its Bot API form."""

    kind: str
    json: Any


@dataclass
class FileStore:
    """All files known to the stand-in, by file_id and by download path."""

    files: dict[str, StoredFile] = field(default_factory=dict)
    by_path: dict[str, StoredFile] = field(default_factory=dict)
    media: dict[str, Media] = field(default_factory=dict)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, data: bytes, folder: str, mime_type: str, file_name: str | None = None) -> StoredFile:
        """Store bytes under a fresh Telegram-looking file_id."""
        extension = _extension(file_name, mime_type)
        stored = StoredFile(
            file_id=_FILE_ID_PREFIX.get(folder, "CAACAgIAAxkBAA") + secrets.token_urlsafe(36),
            file_unique_id="AQAD" + secrets.token_urlsafe(9),
            data=data,
            mime_type=mime_type,
            file_path=f"{folder}/file_{next(self._counter)}{extension}",
            file_name=file_name,
        )
        self.files[stored.file_id] = stored
        self.by_path[stored.file_path] = stored
        return stored

    def remember(self, kind: str, json: Any, file_ids: list[str]) -> Media:
        """Let each of ``file_ids`` be re-sent later as this media object (file_id reuse)."""
        media = Media(kind, json)
        for file_id in file_ids:
            self.media[file_id] = media
        return media

    async def add_photo(self, data: bytes) -> list[dict[str, Any]] | None:
        """PhotoSize list (smallest first) for image bytes, or None when they are not an image."""
        renditions = await asyncio.to_thread(render_photo_sizes, data)
        if renditions is None:
            return None
        sizes = []
        for width, height, jpeg in renditions:
            stored = self.add(jpeg, "photos", "image/jpeg")
            sizes.append(_photo_size(stored, width, height))
        self.remember("photo", sizes, [size["file_id"] for size in sizes])
        return sizes

    async def add_document(self, data: bytes, file_name: str | None, mime_type: str | None) -> dict[str, Any]:
        """Document JSON for any bytes, with a thumbnail when they are an image (as Telegram does)."""
        generic = not mime_type or mime_type == "application/octet-stream"
        mime = _guess_mime(file_name) if generic else str(mime_type)
        stored = self.add(data, "documents", mime, file_name)
        document: dict[str, Any] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if file_name:
            document["file_name"] = file_name
        document["mime_type"] = mime
        document["file_size"] = stored.size
        thumbnail = await asyncio.to_thread(render_thumbnail, data)
        if thumbnail is not None:
            width, height, jpeg = thumbnail
            document["thumbnail"] = _photo_size(self.add(jpeg, "thumbnails", "image/jpeg"), width, height)
        self.remember("document", document, [stored.file_id])
        return document

    def add_video(self, data: bytes, width: int, height: int, duration: int) -> dict[str, Any]:
        """Video JSON; the sizes and duration are taken as given (the stand-in does not probe video)."""
        stored = self.add(data, "videos", "video/mp4")
        video = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": width,
            "height": height,
            "duration": duration,
            "mime_type": "video/mp4",
            "file_size": stored.size,
        }
        self.remember("video", video, [stored.file_id])
        return video

    def add_video_note(self, data: bytes, length: int, duration: int) -> dict[str, Any]:
        """VideoNote JSON; length and duration are taken as given (the stand-in does not probe video)."""
        stored = self.add(data, "video_notes", "video/mp4")
        note = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "length": length,
            "duration": duration,
            "file_size": stored.size,
        }
        self.remember("video_note", note, [stored.file_id])
        return note


def _photo_size(stored: StoredFile, width: int, height: int) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "width": width,
        "height": height,
    }


def _guess_mime(file_name: str | None) -> str:
    guessed = mimetypes.guess_type(file_name or "", strict=False)[0]
    return guessed or "application/octet-stream"


def _extension(file_name: str | None, mime_type: str) -> str:
    if file_name and "." in file_name:
        return "." + file_name.rsplit(".", 1)[1].lower()
    if mime_type == "image/jpeg":
        return ".jpg"
    return mimetypes.guess_extension(mime_type, strict=False) or ""


def _open_image(data: bytes) -> Image.Image | None:
    """Decode and upright an image (EXIF orientation applied, as Telegram does), or None."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
        return ImageOps.exif_transpose(image).convert("RGB")
    except Exception:  # noqa: BLE001 - anything Pillow cannot read is "not an image"
        return None


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def _scaled(image: Image.Image, long_side: int) -> Image.Image:
    width, height = image.size
    ratio = long_side / max(width, height)
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    return image.resize(size, Image.Resampling.LANCZOS)


def render_photo_sizes(data: bytes) -> list[tuple[int, int, bytes]] | None:
    """JPEG renditions at each of :data:`PHOTO_SIDES` below the original, then the original size."""
    image = _open_image(data)
    if image is None:
        return None
    long_side = max(image.size)
    renditions = []
    for side in PHOTO_SIDES:
        if side < long_side:
            scaled = _scaled(image, side)
            renditions.append((scaled.width, scaled.height, _jpeg(scaled)))
    renditions.append((image.width, image.height, _jpeg(image)))
    return renditions


def render_thumbnail(data: bytes) -> tuple[int, int, bytes] | None:
    """A 320 px thumbnail for an image sent as a document, or None for non-images."""
    image = _open_image(data)
    if image is None:
        return None
    thumb = _scaled(image, 320) if max(image.size) > 320 else image
    return thumb.width, thumb.height, _jpeg(thumb)
