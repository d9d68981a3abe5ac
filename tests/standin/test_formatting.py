"""parse_mode handling: plain text plus entities with UTF-16 offsets, and Telegram's refusals."""

from __future__ import annotations

import pytest

from demo.standin.errors import ApiError
from demo.standin.formatting import command_entities, parse_text, utf16_len


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_len("认证") == 2
    assert utf16_len("🙂") == 2


def test_command_entities() -> None:
    assert command_entities("/start abc") == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert command_entities("🙂 /help@pension_demo_bot") == [
        {"type": "bot_command", "offset": 3, "length": 22}
    ]
    assert command_entities("a/b and http://x/y") == []


def test_html_nested_entities_and_links() -> None:
    text, entities = parse_text(
        '🙂<b>粗<i>斜</i></b> <a href="https://example.org">链接</a> &lt;3 '
        '<pre><code class="language-py">x=1</code></pre>',
        "HTML",
    )
    assert text == "🙂粗斜 链接 <3 x=1"
    assert entities == [
        {"type": "bold", "offset": 2, "length": 2},
        {"type": "italic", "offset": 3, "length": 1},
        {"type": "text_link", "url": "https://example.org", "offset": 5, "length": 2},
        {"type": "pre", "language": "py", "offset": 11, "length": 3},
    ]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("a<br>b", 'Unsupported start tag "br"'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", "Unmatched end tag"),
    ],
)
def test_html_errors(source: str, reason: str) -> None:
    with pytest.raises(ApiError) as refused:
        parse_text(source, "HTML")
    assert refused.value.error_code == 400
    assert refused.value.description.startswith("Bad Request: can't parse entities: ")
    assert reason in refused.value.description


def test_markdown_v2() -> None:
    text, entities = parse_text(
        r"*粗* _斜_ __下__ ~删~ ||剧透|| `c\`d` [链接](https://e.org/a\)b) 1\.5", "MarkdownV2"
    )
    assert text == "粗 斜 下 删 剧透 c`d 链接 1.5"
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        ("bold", 0, 1), ("italic", 2, 1), ("underline", 4, 1), ("strikethrough", 6, 1),
        ("spoiler", 8, 2), ("code", 11, 3), ("text_link", 15, 2),
    ]  # fmt: skip
    assert entities[-1]["url"] == "https://e.org/a)b"


def test_markdown_v2_pre_and_quote() -> None:
    text, entities = parse_text("```python\nprint(1)\n```\n>引用\n>第二行\n后", "MarkdownV2")
    assert text == "print(1)\n\n引用\n第二行\n后"
    assert entities == [
        {"type": "pre", "offset": 0, "length": 9, "language": "python"},
        {"type": "blockquote", "offset": 10, "length": 6},
    ]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("1.5", "Character '.' is reserved"),
        ("*open", "Can't find end of Bold entity at byte offset 0"),
        ("a `code", "Can't find end of Code entity at byte offset 2"),
    ],
)
def test_markdown_v2_errors(source: str, reason: str) -> None:
    with pytest.raises(ApiError) as refused:
        parse_text(source, "MarkdownV2")
    assert reason in refused.value.description


def test_legacy_markdown() -> None:
    text, entities = parse_text("*粗* _斜_ `c` [链接](https://e.org) 1.5 a\\_b", "Markdown")
    assert text == "粗 斜 c 链接 1.5 a_b"
    assert [e["type"] for e in entities] == ["bold", "italic", "code", "text_link"]
    with pytest.raises(ApiError, match="Can't find end of the entity starting at byte offset 0"):
        parse_text("*open", "Markdown")


def test_no_parse_mode_keeps_text() -> None:
    assert parse_text("<b>1.5</b>", None) == ("<b>1.5</b>", [])


def test_a_plain_text_gets_the_url_entities_telegram_would_find():
    text = "链接：\nhttp://127.0.0.1:8080/console/sign-in/abc_DEF-1，十分钟内有效"
    plain, entities = parse_text(text, None)
    assert plain == text
    [entity] = entities
    start = text.index("http")
    assert entity == {
        "type": "url",
        "offset": start,
        "length": len("http://127.0.0.1:8080/console/sign-in/abc_DEF-1"),
    }
