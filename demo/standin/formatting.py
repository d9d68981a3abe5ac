"""Telegram's text formatting: ``parse_mode`` markup to plain text plus ``MessageEntity`` JSON.

The real Bot API never echoes markup back: a bot that sends ``<b>Hi</b>`` gets a Message whose
``text`` is ``Hi`` with a ``bold`` entity, and malformed markup fails with
``Bad Request: can't parse entities: ...``. Reproducing that lets tests catch the classic bug of an
unescaped ``.`` in MarkdownV2 before it reaches production, and lets the demo page render
formatting from entities exactly as a Telegram client would. Offsets and lengths are in UTF-16
code units, as in the Bot API.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from demo.standin.errors import ApiError, bad_request

Entity = dict[str, Any]

_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")
_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_TYPES = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}
_HTML_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "code": "code", "pre": "pre",
}  # fmt: skip


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of every entity offset in the Bot API."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[Entity]:
    """``bot_command`` entities for every ``/command`` or ``/command@bot`` in a user's text."""
    return [
        {"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group())}
        for m in _COMMAND.finditer(text)
    ]


_URL = re.compile(r"https?://[^\s<>\"'，。、）)]+")


def url_entities(text: str) -> list[Entity]:
    """``url`` entities for the web addresses in a plain text, as Telegram finds them (so a
    sign-in link the bot sends is a link on the demo's page)."""
    return [
        {"type": "url", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group())}
        for m in _URL.finditer(text)
    ]


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """Strip markup of ``parse_mode`` (HTML, MarkdownV2, Markdown; case-insensitive) from text;
    a plain text gets the ``url`` entities Telegram would find in it."""
    mode = (parse_mode or "").lower()
    if not mode:
        return text, url_entities(text)
    if mode == "html":
        return _HtmlParser(text).run()
    if mode == "markdownv2":
        return _MarkdownV2Parser(text).run()
    if mode == "markdown":
        return _parse_legacy_markdown(text)
    raise bad_request(f"unsupported parse_mode {parse_mode!r}")


def _entities_error(reason: str) -> ApiError:
    return bad_request(f"can't parse entities: {reason}")


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode())


def _sorted(entities: list[Entity]) -> list[Entity]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


class _HtmlParser(HTMLParser):
    """Telegram's HTML subset; anything else is refused the way the Bot API refuses it."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._source = source
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self._parts: list[str] = []
        self._offset = 0
        self._stack: list[tuple[str, Entity | None]] = []
        self._entities: list[Entity] = []

    def run(self) -> tuple[str, list[Entity]]:
        self.feed(self._source)
        self.close()
        if self._stack:
            raise _entities_error(f'Can\'t find end tag corresponding to start tag "{self._stack[-1][0]}"')
        return "".join(self._parts), _sorted(self._entities)

    def _pos(self) -> int:
        line, column = self.getpos()
        return _byte_offset(self._source, self._line_starts[line - 1] + column)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        entity: Entity | None
        if tag in _HTML_TAGS:
            entity = {"type": _HTML_TAGS[tag]}
            if tag == "code" and self._stack and self._stack[-1][0] == "pre":
                pre = self._stack[-1][1]
                language = values.get("class", "")
                if pre is not None and language.startswith("language-"):
                    pre["language"] = language.removeprefix("language-")
                entity = None
        elif tag == "span" and values.get("class") == "tg-spoiler":
            entity = {"type": "spoiler"}
        elif tag == "a":
            entity = {"type": "text_link", "url": values.get("href", "")} if values.get("href") else None
        elif tag == "blockquote":
            entity = {"type": "expandable_blockquote" if "expandable" in values else "blockquote"}
        elif tag == "tg-emoji":
            entity = {"type": "custom_emoji", "custom_emoji_id": values.get("emoji-id", "")}
        else:
            raise _entities_error(f'Unsupported start tag "{tag}" at byte offset {self._pos()}')
        if entity is not None:
            entity["offset"] = self._offset
        self._stack.append((tag, entity))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise _entities_error(f'Unsupported start tag "{tag}" at byte offset {self._pos()}')

    def handle_endtag(self, tag: str) -> None:
        if not self._stack or self._stack[-1][0] != tag:
            expected = f'expected "</{self._stack[-1][0]}>", ' if self._stack else ""
            raise _entities_error(
                f'Unmatched end tag at byte offset {self._pos()}, {expected}found "</{tag}>"'
            )
        _, entity = self._stack.pop()
        if entity is not None and self._offset > entity["offset"]:
            entity["length"] = self._offset - entity["offset"]
            self._entities.append(entity)

    def handle_data(self, data: str) -> None:
        self._parts.append(data)
        self._offset += utf16_len(data)


class _MarkdownV2Parser:
    """MarkdownV2 with its strict escaping rules (every reserved character needs a backslash)."""

    def __init__(self, source: str) -> None:
        self._src = source
        self._i = 0
        self._parts: list[str] = []
        self._offset = 0
        self._stack: list[tuple[str, int, int]] = []  # marker, text offset, byte offset
        self._entities: list[Entity] = []
        self._quote_start: int | None = None

    def run(self) -> tuple[str, list[Entity]]:
        src = self._src
        line_start = True
        while self._i < len(src):
            char = src[self._i]
            if line_start:
                self._line_start(char)
                if char == ">":
                    self._i += 1
                    line_start = False
                    continue
            line_start = char == "\n"
            if char == "\\" and self._i + 1 < len(src) and 0 < ord(src[self._i + 1]) < 127:
                self._emit(src[self._i + 1])
                self._i += 2
            elif char == "`":
                self._code()
            elif src.startswith("||", self._i) or src.startswith("__", self._i):
                self._toggle(src[self._i : self._i + 2])
            elif char in "*_~":
                self._toggle(char)
            elif char == "!" and src.startswith("![", self._i):
                self._stack.append(("![", self._offset, _byte_offset(src, self._i)))
                self._i += 2
            elif char == "[":
                self._stack.append(("[", self._offset, _byte_offset(src, self._i)))
                self._i += 1
            elif char == "]" and self._stack and self._stack[-1][0] in ("[", "!["):
                self._link()
            elif char in _MDV2_RESERVED:
                raise _entities_error(
                    f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
                )
            else:
                self._emit(char)
                self._i += 1
        self._close_quote()
        if self._stack:
            marker, _, position = self._stack[-1]
            name = {"[": "TextUrl", "![": "CustomEmoji"}.get(marker) or _MDV2_TYPES[marker].capitalize()
            raise _entities_error(f"Can't find end of {name} entity at byte offset {position}")
        return "".join(self._parts), _sorted(self._entities)

    def _emit(self, text: str) -> None:
        self._parts.append(text)
        self._offset += utf16_len(text)

    def _add(self, kind: str, start: int, **extra: Any) -> None:
        if self._offset > start:
            self._entities.append({"type": kind, "offset": start, "length": self._offset - start, **extra})

    def _line_start(self, char: str) -> None:
        if char == ">" and self._quote_start is None:
            self._quote_start = self._offset
        elif char != ">":
            self._close_quote()

    def _close_quote(self) -> None:
        if self._quote_start is not None:
            text = "".join(self._parts)
            end = self._offset - (1 if text.endswith("\n") else 0)
            if end > self._quote_start:
                self._entities.append(
                    {"type": "blockquote", "offset": self._quote_start, "length": end - self._quote_start}
                )
            self._quote_start = None

    def _toggle(self, marker: str) -> None:
        position = _byte_offset(self._src, self._i)
        self._i += len(marker)
        if self._stack and self._stack[-1][0] == marker:
            _, start, _ = self._stack.pop()
            self._add(_MDV2_TYPES[marker], start)
        else:
            self._stack.append((marker, self._offset, position))

    def _code(self) -> None:
        src = self._src
        fence = "```" if src.startswith("```", self._i) else "`"
        position = _byte_offset(src, self._i)
        j = self._i + len(fence)
        language = ""
        if fence == "```":
            newline = src.find("\n", j)
            first_line = src[j:newline] if newline != -1 else ""
            if newline != -1 and first_line and not re.search(r"\s", first_line):
                language, j = first_line, newline + 1
        start = self._offset
        while j < len(src) and not src.startswith(fence, j):
            if src[j] == "\\" and j + 1 < len(src) and src[j + 1] in "`\\":
                j += 1
            self._emit(src[j])
            j += 1
        if j >= len(src):
            kind = "Pre" if fence == "```" else "Code"
            raise _entities_error(f"Can't find end of {kind} entity at byte offset {position}")
        self._i = j + len(fence)
        if fence == "`":
            self._add("code", start)
        else:
            self._add("pre", start, **({"language": language} if language else {}))

    def _link(self) -> None:
        src = self._src
        marker, start, position = self._stack.pop()
        if not src.startswith("(", self._i + 1):
            raise _entities_error(f"Can't find end of TextUrl entity at byte offset {position}")
        j, url = self._i + 2, []
        while j < len(src) and src[j] != ")":
            if src[j] == "\\" and j + 1 < len(src):
                j += 1
            url.append(src[j])
            j += 1
        if j >= len(src):
            raise _entities_error(f"Can't find end of a URL at byte offset {_byte_offset(src, self._i + 1)}")
        self._i = j + 1
        target = "".join(url)
        if marker == "![":
            self._add("custom_emoji", start, custom_emoji_id=target.rpartition("id=")[2])
        else:
            self._add("text_link", start, url=target)


def _parse_legacy_markdown(src: str) -> tuple[str, list[Entity]]:
    """Legacy ``Markdown``: no nesting, and an unclosed marker is an error."""
    parts: list[str] = []
    entities: list[Entity] = []
    offset = 0
    i = 0
    markers = {"*": "bold", "_": "italic", "```": "pre", "`": "code"}
    while i < len(src):
        if src[i] == "\\" and i + 1 < len(src) and src[i + 1] in "_*`[":
            parts.append(src[i + 1])
            offset += 1
            i += 2
            continue
        marker = next((m for m in markers if src.startswith(m, i)), None)
        if marker is None and src[i] == "[":
            close = src.find("](", i)
            end = src.find(")", close) if close != -1 else -1
            if close != -1 and end != -1:
                label = src[i + 1 : close]
                parts.append(label)
                length = utf16_len(label)
                url = src[close + 2 : end]
                entities.append({"type": "text_link", "offset": offset, "length": length, "url": url})
                offset += length
                i = end + 1
                continue
        if marker is None:
            parts.append(src[i])
            offset += utf16_len(src[i])
            i += 1
            continue
        end = src.find(marker, i + len(marker))
        if end == -1:
            raise _entities_error(
                f"Can't find end of the entity starting at byte offset {_byte_offset(src, i)}"
            )
        content = src[i + len(marker) : end]
        if content:
            parts.append(content)
            length = utf16_len(content)
            entities.append({"type": markers[marker], "offset": offset, "length": length})
            offset += length
        i = end + len(marker)
    return "".join(parts), _sorted(entities)
