"""The demo web page: a Telegram chat, played in the browser, against the local stand-in.

``pension-bot demo`` runs the Bot API stand-in, the real bot and this page on one aiohttp app.
The page (``demo/page_files/``: plain HTML, CSS and JS, no build step, nothing from a CDN) talks
only to the stand-in's control API on the same origin (``/control/...``); this module adds the
routes that serve the page itself:

- ``GET /``                     the page;
- ``GET /static/demo/{name}``   its script and style sheet;
- ``GET /demo/personas``        ``{"bot_name": str, "personas": [{chat_id, label, description,
                                first_name, language_code, phone_number}, ...], "recording":
                                {"url", "name", "note"} | null}``: the people a visitor can "try
                                as", each a separate private chat, and the demo recording;
- ``GET /demo/recording``       the demo recording (a real person's clip, read at run time from
                                where the demo found it), which the page sends as a round video
                                note from its attach menu; 404 when the demo has none.

Every response carries a strict Content-Security-Policy (same-origin scripts, styles, images and
connections only) as a second line of defence: the page itself never turns message text into
markup (it builds DOM nodes and sets ``textContent``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

PAGE_DIR = Path(__file__).resolve().parent / "page_files"

DEFAULT_BOT_NAME = "养老金资格认证助手 Pension Certification Bot"

DEFAULT_PERSONAS: tuple[dict[str, Any], ...] = (
    {
        "chat_id": 710001,
        "label": "退休人员 Retiree",
        "description": "以退休人员身份办理领取养老金资格认证 · Certify as a retiree",
        "first_name": "王秀兰",
        "language_code": "zh-hans",
    },
)

# The files under PAGE_DIR that may be served, with their content types. Nothing else is served:
# no directory listing, no path from the URL ever reaches the file system.
_STATIC_FILES: dict[str, str] = {
    "chat.js": "text/javascript",
    "chat.css": "text/css",
}

_SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        "media-src 'self' blob:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class DemoRecording:
    """A video the page offers to send as a round video note (📎 → the demo recording).

    ``path``: the MP4, served as it is (never copied); ``note``: what the page says about it
    (where it comes from and why it can certify), shown beside its button."""

    path: Path
    note: str


def _normalise_personas(personas: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Check and complete the persona list; one default retiree when none is given."""
    source = list(personas) if personas is not None else []
    if not source:
        source = [dict(p) for p in DEFAULT_PERSONAS]
    result: list[dict[str, Any]] = []
    seen: set[int] = set()
    for index, persona in enumerate(source):
        if not isinstance(persona, Mapping):
            raise TypeError(f"persona #{index} must be a mapping, got {type(persona).__name__}")
        chat_id = persona.get("chat_id")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            raise ValueError(f"persona #{index} needs an integer chat_id, got {chat_id!r}")
        if chat_id <= 0:
            # The page plays a private chat, whose id is the user's id: always positive.
            raise ValueError(f"persona #{index}: a private chat id is positive, got {chat_id}")
        if chat_id in seen:
            raise ValueError(f"persona #{index}: chat_id {chat_id} is used twice")
        seen.add(chat_id)
        label = str(persona.get("label") or f"Chat {chat_id}")
        first_name = str(persona.get("first_name") or label.split(" ")[0] or "Demo")
        result.append(
            {
                "chat_id": chat_id,
                "label": label,
                "description": str(persona.get("description") or ""),
                "first_name": first_name,
                "language_code": str(persona.get("language_code") or "zh-hans"),
                "phone_number": str(persona.get("phone_number") or ""),
            }
        )
    return result


def add_demo_page_routes(
    app: web.Application,
    personas: Iterable[Mapping[str, Any]] | None = None,
    *,
    bot_name: str | None = None,
    recording: DemoRecording | None = None,
) -> None:
    """Add the demo chat page to ``app``: ``/``, ``/static/demo/{name}``, ``/demo/personas``
    and ``/demo/recording``.

    ``personas``: the chats a visitor can try, each ``{"chat_id": int, "label": str,
    "description": str}`` and optionally ``first_name``, ``language_code`` (sent as the user's
    Telegram ``language_code``) and ``phone_number`` (offered when the bot asks for a contact).
    ``bot_name`` is shown in the page header. ``recording``: a video the attach menu offers
    to send as a round video note (none: the menu does not offer one).
    """
    config = {
        "bot_name": bot_name or DEFAULT_BOT_NAME,
        "personas": _normalise_personas(personas),
        "recording": None
        if recording is None
        else {"url": "/demo/recording", "name": recording.path.name, "note": recording.note},
    }
    config_body = json.dumps(config, ensure_ascii=False).encode("utf-8")

    async def index(request: web.Request) -> web.StreamResponse:
        body = (PAGE_DIR / "index.html").read_bytes()
        return web.Response(
            body=body,
            content_type="text/html",
            charset="utf-8",
            headers={**_SECURITY_HEADERS, "Cache-Control": "no-cache"},
        )

    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        content_type = _STATIC_FILES.get(name)
        if content_type is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=(PAGE_DIR / name).read_bytes(),
            content_type=content_type,
            charset="utf-8",
            headers={**_SECURITY_HEADERS, "Cache-Control": "no-cache"},
        )

    async def personas_json(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=config_body,
            content_type="application/json",
            charset="utf-8",
            headers={**_SECURITY_HEADERS, "Cache-Control": "no-store"},
        )

    async def recording_file(request: web.Request) -> web.StreamResponse:
        if recording is None or not recording.path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(
            recording.path,
            headers={**_SECURITY_HEADERS, "Content-Type": "video/mp4", "Cache-Control": "no-store"},
        )

    app.router.add_get("/", index, name="demo_page")
    app.router.add_get("/static/demo/{name}", static, name="demo_page_static")
    app.router.add_get("/demo/personas", personas_json, name="demo_page_personas")
    app.router.add_get("/demo/recording", recording_file, name="demo_page_recording")
