"""The question bank: single-choice, multiple-choice and true/false questions, each with its
answer, an explanation and the articles it rests on, in Chinese and English.

Loading checks the whole bank and refuses it with every problem listed: a question without
an answer (or with an answer its options do not have), a citation that is not an article of
the law texts the product ships, a question asked twice (the same stem, ignoring spacing and
punctuation), a missing language. Files: content/data/training/questions/*.toml.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Set
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from content.knowledge.articles import LAWS_DIR, parse_law
from content.knowledge.model import DATA_DIR, chinese_number, load_sources, read_toml_files
from kernel.data_files import DataFileProblems

QUESTIONS_DIR = DATA_DIR.parent / "training" / "questions"
LETTERS = "ABCDEF"
_CITATION = re.compile(r"^(?P<source>\S+) 第(?P<number>[零一二两三四五六七八九十百千]+)条$")
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class QuestionKind(StrEnum):
    SINGLE = "single"  # one right option
    MULTIPLE = "multiple"  # two or more right options, all needed
    TRUE_FALSE = "true_false"


class QuestionBankError(DataFileProblems):
    pass


@dataclass(frozen=True)
class Wording:
    stem: str
    options: tuple[str, ...]
    explanation: str


@dataclass(frozen=True)
class Question:
    id: str
    topic: str
    kind: QuestionKind
    answer: frozenset[str]  # option letters, or {"true"} / {"false"}
    citations: tuple[str, ...]
    wordings: dict[str, Wording]  # by language: zh_Hans, en

    def choices(self) -> tuple[str, ...]:
        """What may be answered: option letters, or true and false."""
        if self.kind is QuestionKind.TRUE_FALSE:
            return ("true", "false")
        return tuple(LETTERS[: len(self.wordings["zh_Hans"].options)])

    def is_right(self, given: Iterable[str]) -> bool:
        return frozenset(given) == self.answer


@dataclass(frozen=True)
class QuestionBank:
    questions: tuple[Question, ...]

    def by_topic(self) -> dict[str, list[Question]]:
        topics: dict[str, list[Question]] = {}
        for question in self.questions:
            topics.setdefault(question.topic, []).append(question)
        return topics

    def get(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


@cache
def law_articles(laws_dir: Path = LAWS_DIR) -> frozenset[tuple[str, int]]:
    """(law, article number) of every article of the law texts the product ships (read once)."""
    found: set[tuple[str, int]] = set()
    for source in load_sources().values():
        if source.text_file:
            text = (laws_dir / source.text_file).read_text(encoding="utf-8")
            found |= {(article.source, article.number) for article in parse_law(source.name, text)}
    return frozenset(found)


def check_citations(
    citations: Iterable[str], where: str, known: Set[tuple[str, int]], problems: list[str]
) -> None:
    """Each citation ("社会保险法 第八十六条") must name an article of the shipped law texts."""
    for citation in citations:
        match = _CITATION.match(citation)
        if not match or (match["source"], chinese_number(match["number"])) not in known:
            problems.append(f"{where}: citation {citation!r} is not an article of the law texts")


def stem_key(stem: str) -> str:
    """A stem with spacing, punctuation and width differences taken out (duplicates)."""
    folded = unicodedata.normalize("NFKC", stem).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def load_bank(directory: Path = QUESTIONS_DIR, articles: Set[tuple[str, int]] | None = None) -> QuestionBank:
    known = articles if articles is not None else law_articles()
    problems: list[str] = []
    questions: list[Question] = []
    if not any(directory.glob("*.toml")):
        raise QuestionBankError([f"no question files in {directory}"])
    for path, data in read_toml_files(directory, problems):
        for number, raw in enumerate(data.get("question", []), start=1):
            question = _question(raw, f"{path.name} question {number}", known, problems)
            if question is not None:
                questions.append(question)
    _check_repeats(questions, problems)
    if problems:
        raise QuestionBankError(problems)
    return QuestionBank(tuple(questions))


def _question(
    raw: dict[str, Any], where: str, known: Set[tuple[str, int]], problems: list[str]
) -> Question | None:
    before = len(problems)
    question_id = raw.get("id")
    if not isinstance(question_id, str) or not _ID.match(question_id):
        problems.append(f"{where}: id {question_id!r} must be lower-case words joined by '-'")
    else:
        where = f"{where} ({question_id})"
    try:
        kind = QuestionKind(str(raw.get("kind")))
    except ValueError:
        problems.append(f"{where}: kind must be one of {', '.join(k.value for k in QuestionKind)}")
        return None
    topic = str(raw.get("topic", "")).strip()
    if not topic:
        problems.append(f"{where}: 'topic' is missing")
    wordings = _wordings(raw, kind, where, problems)
    answer = _answer(
        raw.get("answer"), kind, len(wordings["zh_Hans"].options) if "zh_Hans" in wordings else 0
    )
    if answer is None:
        problems.append(f"{where}: the answer is missing or not one of its choices")
    citations = tuple(str(c).strip() for c in raw.get("citations", []) if str(c).strip())
    if not citations:
        problems.append(f"{where}: every question needs at least one citation")
    check_citations(citations, where, known, problems)
    if len(problems) > before or answer is None:
        return None
    assert isinstance(question_id, str)
    return Question(question_id, topic, kind, answer, citations, wordings)


def _wordings(raw: dict[str, Any], kind: QuestionKind, where: str, problems: list[str]) -> dict[str, Wording]:
    wordings: dict[str, Wording] = {}
    for language, key in (("zh_Hans", "zh"), ("en", "en")):
        local = raw.get(key)
        if not isinstance(local, dict):
            problems.append(f"{where}: the [{key}] text is missing")
            continue
        stem, explanation = str(local.get("stem", "")).strip(), str(local.get("explanation", "")).strip()
        options = tuple(str(o).strip() for o in local.get("options", []))
        if not stem or not explanation:
            problems.append(f"{where}: [{key}] needs a stem and an explanation")
        if kind is QuestionKind.TRUE_FALSE and options:
            problems.append(f"{where}: a true/false question has no options")
        if kind is not QuestionKind.TRUE_FALSE and not 2 <= len(options) <= len(LETTERS):
            problems.append(f"{where}: [{key}] needs 2 to {len(LETTERS)} options")
        if any(not option for option in options) or len(set(options)) != len(options):
            problems.append(f"{where}: [{key}] has an empty or repeated option")
        wordings[language] = Wording(stem, options, explanation)
    if len({len(w.options) for w in wordings.values()}) > 1:
        problems.append(f"{where}: the languages have different numbers of options")
    return wordings


def _answer(raw: object, kind: QuestionKind, options: int) -> frozenset[str] | None:
    if kind is QuestionKind.TRUE_FALSE:
        return frozenset({"true" if raw else "false"}) if isinstance(raw, bool) else None
    letters = [raw] if isinstance(raw, str) else raw
    if not isinstance(letters, list) or not all(isinstance(x, str) for x in letters):
        return None
    chosen = frozenset(x.strip().upper() for x in letters)
    if not chosen or not chosen <= set(LETTERS[:options]) or len(chosen) != len(letters):
        return None
    if (kind is QuestionKind.SINGLE) != (len(chosen) == 1):
        return None  # a single-choice question has one answer, a multiple-choice one several
    return chosen


def _check_repeats(questions: list[Question], problems: list[str]) -> None:
    ids: set[str] = set()
    stems: dict[str, str] = {}
    for question in questions:
        if question.id in ids:
            problems.append(f"question id {question.id!r} is used twice")
        ids.add(question.id)
        key = stem_key(question.wordings["zh_Hans"].stem)
        if key in stems:
            problems.append(f"{question.id}: the same question as {stems[key]}")
        stems.setdefault(key, question.id)
