"""From a question to an answer: the best entry when the search is confident enough; else
the governing article(s) of the law when the article search is (`AnswerStatus.ARTICLE`);
otherwise the closest topics and articles (and, in the service, a hand-over to staff).

Both thresholds are read from content/data/knowledge/calibration.toml (`entry_threshold`,
`article_threshold`) when it exists, else they are the defaults below."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from content.knowledge.articles import Article, ArticleIndex, load_articles
from content.knowledge.model import DATA_DIR, Entry, KnowledgeBase, load_knowledge_base
from content.knowledge.search import KnowledgeIndex
from content.knowledge.text import TextAnalyzer

# Calibrated on the open question set and on questions the base does not cover (see
# `pension-bot eval answers`): at 0.30, about nine in ten covered questions are answered
# and about one in ten uncovered ones is (wrongly) answered rather than handed to staff.
DEFAULT_ENTRY_THRESHOLD = 0.30
# An article's score (content/knowledge/articles.py) at or above which it is quoted as the
# answer when no entry is confident.
DEFAULT_ARTICLE_THRESHOLD = 0.35
# A confident entry still gives way to an article it does not cite when the article scores
# this much higher (the entry is then about something near, not about the question).
DEFAULT_ARTICLE_MARGIN = 0.15
CALIBRATION_FILE = DATA_DIR / "calibration.toml"


def _calibrated(key: str, default: float) -> float:
    try:
        data = tomllib.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    value = data.get(key, default)
    return float(value)


CONFIDENCE_THRESHOLD = _calibrated("entry_threshold", DEFAULT_ENTRY_THRESHOLD)
ARTICLE_THRESHOLD = _calibrated("article_threshold", DEFAULT_ARTICLE_THRESHOLD)
ARTICLE_MARGIN = _calibrated("article_margin", DEFAULT_ARTICLE_MARGIN)
MAX_QUESTION_CHARS = 500
RELATED_SHOWN = 3
ARTICLES_SHOWN = 3  # the closest articles listed when handing over
SECOND_ARTICLE = 0.9  # a second article of the same law is quoted when it scores this close

_CJK_OR_LATIN = re.compile(r"[\u3400-\u9fffA-Za-z]")


class AnswerStatus(StrEnum):
    ANSWERED = "answered"  # the best entry, confidently
    ARTICLE = "article"  # no entry was confident: the governing article(s) of the law, quoted
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
    # ARTICLE: the quoted articles; UNSURE: the closest articles, listed for staff and the asker
    articles: tuple[Article, ...] = ()
    article_confidence: float = 0.0

    @property
    def citations(self) -> list[str]:
        if self.status is AnswerStatus.ANSWERED and self.entry is not None:
            return self.entry.citation_strings()
        if self.status is AnswerStatus.ARTICLE:
            return [article.citation for article in self.articles]
        return []


def detect_language(text: str) -> str:
    """zh_Hans when the text has any Chinese character, else en."""
    return "zh_Hans" if re.search(r"[\u3400-\u9fff]", text) else "en"


class Answerer:
    def __init__(
        self,
        index: KnowledgeIndex,
        threshold: float = CONFIDENCE_THRESHOLD,
        max_chars: int = MAX_QUESTION_CHARS,
        articles: ArticleIndex | None = None,
        article_threshold: float = ARTICLE_THRESHOLD,
        article_margin: float = ARTICLE_MARGIN,
    ) -> None:
        self.index = index
        self.threshold = threshold
        self.max_chars = max_chars
        self.articles = articles
        self.article_threshold = article_threshold
        self.article_margin = article_margin

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
        found = self.articles.search(text, limit=5) if self.articles is not None else []
        best_score = found[0][1] if found else 0.0
        article_confident = bool(found) and best_score >= self.article_threshold
        if result.best is not None and result.confidence >= self.threshold:
            entry = result.best.entry
            outdone = (
                article_confident
                and best_score >= result.confidence + self.article_margin
                and found[0][0].citation not in entry.citation_strings()
            )
            if not outdone:
                related = tuple(e for e in (self.entry(i) for i in entry.related) if e)[:RELATED_SHOWN]
                return Answer(
                    AnswerStatus.ANSWERED,
                    result.confidence,
                    entry,
                    related,
                    scores,
                    article_confidence=best_score,
                )
        if article_confident:
            best = found[0][0]
            quoted = [best] + [
                article
                for article, score in found[1:2]
                if article.source == best.source and score >= SECOND_ARTICLE * best_score
            ]
            return Answer(
                AnswerStatus.ARTICLE,
                result.confidence,
                scores=scores,
                articles=tuple(quoted),
                article_confidence=best_score,
            )
        if result.best is None:
            return Answer(AnswerStatus.UNCLEAR, scores=scores)
        closest = tuple(match.entry for match in result.matches[:RELATED_SHOWN])
        return Answer(
            AnswerStatus.UNSURE,
            result.confidence,
            None,
            closest,
            scores,
            articles=tuple(article for article, _ in found[:ARTICLES_SHOWN]),
            article_confidence=best_score,
        )


@cache
def default_answerer() -> Answerer:
    """The shipped knowledge base and the laws' articles, indexed once per process (about
    two seconds; the articles add about 0.2 s)."""
    analyzer = TextAnalyzer()
    return Answerer(
        KnowledgeIndex(load_knowledge_base(), analyzer), articles=ArticleIndex(load_articles(), analyzer)
    )
