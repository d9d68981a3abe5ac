"""Knowledge-base entries for employers: data files, loaded and checked at start-up.

Each entry (content/data/knowledge/entries/*.toml) answers one question in Simplified
Chinese and English, names its sources ("社会保险法 第五十八条"), says when it was last
reviewed and which entries are related. `load_knowledge_base` refuses the whole base when
anything is wrong (an unknown source, a related id that does not exist, a missing
language), listing every problem at once, so a bad edit never reaches users.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "knowledge"
ENTRIES_DIR = DATA_DIR / "entries"
SOURCES_FILE = DATA_DIR / "sources.toml"
LANGUAGES = ("zh_Hans", "en")
_FILE_LANGUAGE_KEYS = {"zh_Hans": "zh", "en": "en"}

_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_ARTICLE = "第([零一二两三四五六七八九十百千]+)条"
_CITATION = re.compile(rf"^(?P<source>\S+)(?: {_ARTICLE}(?:至{_ARTICLE})?)?$")


class KnowledgeBaseError(ValueError):
    """The knowledge base cannot be used; `problems` lists everything found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("knowledge base refused:\n  " + "\n  ".join(problems))


def chinese_number(text: str) -> int:
    """'五十八' -> 58, '二百六十六' -> 266, '十九' -> 19 (article numbers)."""
    total, digit = 0, 0
    for character in text:
        if character in _CN_DIGITS:
            digit = _CN_DIGITS[character]
        elif character in _CN_UNITS:
            total += (digit or 1) * _CN_UNITS[character]
            digit = 0
        else:
            raise ValueError(f"not a Chinese number: {text!r}")
    return total + digit


@dataclass(frozen=True)
class Source:
    """A law, regulation or policy document an answer may cite."""

    name: str  # as cited: 社会保险法
    english: str  # Social Insurance Law
    kind: str  # law / regulation / rules / notice / interpretation / policy
    text_file: str | None  # the full text in the reference folder, when the project holds it


@dataclass(frozen=True)
class Citation:
    source: Source
    first_article: int | None
    last_article: int | None
    text: str  # as written in the entry

    def render(self, language: str) -> str:
        if language == "zh_Hans":
            return self.text
        if self.first_article is None:
            return self.source.english
        if self.last_article is not None:
            return f"{self.source.english}, Arts. {self.first_article}-{self.last_article}"
        return f"{self.source.english}, Art. {self.first_article}"


@dataclass(frozen=True)
class LocalText:
    """One language of an entry: the question, other ways to ask it, keywords, the answer.
    `phrasings` also holds the file's `everyday` ones: as people type them on a phone (咋办,
    我们店), written blind from the entries and the law texts alone."""

    question: str
    phrasings: tuple[str, ...]
    keywords: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class Entry:
    id: str
    topic: str
    reviewed: date
    citations: tuple[Citation, ...]
    related: tuple[str, ...]
    texts: dict[str, LocalText]

    def text(self, language: str) -> LocalText:
        return self.texts.get(language) or self.texts["zh_Hans"]

    def citation_strings(self) -> list[str]:
        return [citation.text for citation in self.citations]

    def __hash__(self) -> int:
        return hash(self.id)


@dataclass(frozen=True)
class KnowledgeBase:
    entries: tuple[Entry, ...]
    sources: dict[str, Source]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {entry.id: entry for entry in self.entries})

    def get(self, entry_id: str) -> Entry | None:
        return self._by_id.get(entry_id)  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return len(self.entries)


def load_sources(path: Path = SOURCES_FILE) -> dict[str, Source]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {
        item["name"]: Source(item["name"], item["english"], item["kind"], item.get("text_file"))
        for item in data["source"]
    }


def parse_citation(text: str, sources: dict[str, Source]) -> Citation:
    match = _CITATION.match(text)
    if not match:
        raise ValueError(f"citation {text!r} is not 'SOURCE' or 'SOURCE 第X条'")
    source = sources.get(match.group("source"))
    if source is None:
        raise ValueError(f"citation {text!r} names an unknown source (add it to sources.toml)")
    first = chinese_number(match.group(2)) if match.group(2) else None
    last = chinese_number(match.group(3)) if match.group(3) else None
    return Citation(source, first, last, text)


def read_toml_files(directory: Path, problems: list[str]) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Each *.toml file of `directory`, in name order, read; one that is not valid TOML is
    noted in `problems` (by name) and skipped, so that every problem is listed at once."""
    for path in sorted(directory.glob("*.toml")):
        try:
            yield path, tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            problems.append(f"{path.name}: not valid TOML ({error})")


def load_knowledge_base(
    entries_dir: Path = ENTRIES_DIR, sources_file: Path = SOURCES_FILE, *, today: date | None = None
) -> KnowledgeBase:
    sources = load_sources(sources_file)
    problems: list[str] = []
    entries: list[Entry] = []
    if not any(entries_dir.glob("*.toml")):
        raise KnowledgeBaseError([f"no entry files in {entries_dir}"])
    for path, data in read_toml_files(entries_dir, problems):
        for number, raw in enumerate(data.get("entry", []), start=1):
            entry = _entry(raw, sources, f"{path.name} entry {number}", problems, today or date.today())
            if entry is not None:
                entries.append(entry)
    _check_links(entries, problems)
    if problems:
        raise KnowledgeBaseError(problems)
    return KnowledgeBase(tuple(entries), sources)


def _entry(
    raw: dict, sources: dict[str, Source], where: str, problems: list[str], today: date
) -> Entry | None:
    before = len(problems)
    entry_id = raw.get("id", "")
    if not isinstance(entry_id, str) or not _ID.match(entry_id):
        problems.append(f"{where}: id {entry_id!r} must be lower-case words joined by '-'")
    where = f"{where} ({entry_id})"
    reviewed = raw.get("reviewed")
    if not isinstance(reviewed, date):
        problems.append(f"{where}: 'reviewed' must be a date (YYYY-MM-DD)")
    elif reviewed > today:
        problems.append(f"{where}: reviewed {reviewed} is in the future")
    citations: list[Citation] = []
    for text in raw.get("citations", []):
        try:
            citations.append(parse_citation(text, sources))
        except ValueError as error:
            problems.append(f"{where}: {error}")
    if not raw.get("citations"):
        problems.append(f"{where}: every entry needs at least one citation")
    texts: dict[str, LocalText] = {}
    for language in LANGUAGES:
        local = raw.get(_FILE_LANGUAGE_KEYS[language])
        if not isinstance(local, dict):
            problems.append(f"{where}: the [{_FILE_LANGUAGE_KEYS[language]}] text is missing")
            continue
        question, answer = str(local.get("question", "")).strip(), str(local.get("answer", "")).strip()
        if not question or not answer:
            problems.append(f"{where}: [{_FILE_LANGUAGE_KEYS[language]}] needs a question and an answer")
        texts[language] = LocalText(
            question=question,
            phrasings=tuple(
                str(p).strip()
                for key in ("phrasings", "everyday")
                for p in local.get(key, [])
                if str(p).strip()
            ),
            keywords=tuple(str(k).strip() for k in local.get("keywords", []) if str(k).strip()),
            answer=answer,
        )
    related = raw.get("related", [])
    if not isinstance(related, list) or not all(isinstance(r, str) for r in related):
        problems.append(f"{where}: 'related' must be a list of entry ids")
        related = []
    if not str(raw.get("topic", "")).strip():
        problems.append(f"{where}: 'topic' is missing")
    if len(problems) > before:
        return None
    assert isinstance(reviewed, date)  # else a problem was recorded above
    return Entry(entry_id, raw["topic"], reviewed, tuple(citations), tuple(related), texts)


def _check_links(entries: list[Entry], problems: list[str]) -> None:
    seen: set[str] = set()
    for entry in entries:
        if entry.id in seen:
            problems.append(f"entry id {entry.id!r} is used twice")
        seen.add(entry.id)
    for entry in entries:
        for related in entry.related:
            if related == entry.id:
                problems.append(f"{entry.id}: lists itself as related")
            elif related not in seen:
                problems.append(f"{entry.id}: related entry {related!r} does not exist")
