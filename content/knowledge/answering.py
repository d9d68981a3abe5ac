"""From a question to an answer: the best entry when the search is confident enough,
otherwise the closest topics (and, in the service, a hand-over to staff)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from content.knowledge.model import Entry, KnowledgeBase, load_knowledge_base
from content.knowledge.search import KnowledgeIndex
from content.knowledge.text import TextAnalyzer

# Calibrated on the open question set and on questions the base does not cover (see
# `pension-bot eval answers`): at 0.30, about nine in ten covered questions are answered
# and about one in ten uncovered ones is (wrongly) answered rather than handed to staff.
CONFIDENCE_THRESHOLD = 0.30
MAX_QUESTION_CHARS = 500
RELATED_SHOWN = 3

_CJK_OR_LATIN = re.compile(r"[\u3400-\u9fffA-Za-z]")


class AnswerStatus(StrEnum):
    ANSWERED = "answered"  # the best entry, confidently
    UNSURE = "unsure"  # not confident: closest topics, and the question goes to staff
    EMPTY = "empty"  # nothing was asked
    UNCLEAR = "unclear"  # no searchable word at all ("你好", "???")
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class Answer:
    status: AnswerStatus
    confidence: float = 0.0
    entry: Entry | None = None
    related: tuple[Entry, ...] = ()  # related entries of the answer, or the closest topics
    scores: tuple[tuple[str, float], ...] = field(default_factory=tuple)  # (entry id, score), best first

    @property
    def citations(self) -> list[str]:
        return self.entry.citation_strings() if self.entry else []


def detect_language(text: str) -> str:
    """zh_Hans when the text has any Chinese character, else en."""
    return "zh_Hans" if re.search(r"[\u3400-\u9fff]", text) else "en"


class Answerer:
    def __init__(
        self,
        index: KnowledgeIndex,
        threshold: float = CONFIDENCE_THRESHOLD,
        max_chars: int = MAX_QUESTION_CHARS,
    ) -> None:
        self.index = index
        self.threshold = threshold
        self.max_chars = max_chars

    @property
    def knowledge(self) -> KnowledgeBase:
        return self.index.knowledge

    def entry(self, entry_id: str) -> Entry | None:
        return self.knowledge.get(entry_id)

    def answer(self, question: str) -> Answer:
        text = (question or "").strip()
        if not text:
            return Answer(AnswerStatus.EMPTY)
        if len(text) > self.max_chars:
            return Answer(AnswerStatus.TOO_LONG)
        if not _CJK_OR_LATIN.search(text):
            return Answer(AnswerStatus.UNCLEAR)
        result = self.index.search(text, limit=5)
        scores = tuple((match.entry.id, round(match.score, 3)) for match in result.matches)
        if result.best is None:
            return Answer(AnswerStatus.UNCLEAR, scores=scores)
        if result.confidence >= self.threshold:
            entry = result.best.entry
            related = tuple(e for e in (self.entry(i) for i in entry.related) if e)[:RELATED_SHOWN]
            return Answer(AnswerStatus.ANSWERED, result.confidence, entry, related, scores)
        closest = tuple(match.entry for match in result.matches[:RELATED_SHOWN])
        return Answer(AnswerStatus.UNSURE, result.confidence, None, closest, scores)


@cache
def default_answerer() -> Answerer:
    """The shipped knowledge base, indexed once per process (about two seconds)."""
    analyzer = TextAnalyzer()
    return Answerer(KnowledgeIndex(load_knowledge_base(), analyzer))
