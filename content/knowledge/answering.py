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
from content.knowledge.search import KnowledgeIndex, SearchResult
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
DEFAULT_CONTEST = 2.0  # above any confidence: off
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
# When the best entry cites one of the two best articles, two searches over different texts
# agree, and the entry may be given at this lower confidence (the entry threshold by default).
AGREED_THRESHOLD = _calibrated("agreed_threshold", CONFIDENCE_THRESHOLD)
CONTEST_THRESHOLD = _calibrated("contest_threshold", DEFAULT_CONTEST)
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


class Route(StrEnum):
    ENTRY = "entry"
    ARTICLE = "article"
    HAND_OVER = "hand_over"


@dataclass(frozen=True)
class Evidence:
    """What the two searches found for one question, as the routing sees it."""

    entry_confidence: float  # the best entry's; -1 when there is none
    article_confidence: float  # the best article's; -1 when there is none
    agreed: bool  # the best entry cites one of the two best articles
    cites_first: bool = False  # the best entry cites the best article


@dataclass(frozen=True)
class Thresholds:
    entry: float = DEFAULT_ENTRY_THRESHOLD
    article: float = DEFAULT_ARTICLE_THRESHOLD
    agreed: float = DEFAULT_ENTRY_THRESHOLD
    margin: float = DEFAULT_ARTICLE_MARGIN
    # An entry at least this confident that does not cite the best article contests it: the
    # two searches disagree on a question close to a curated topic, so no article is quoted.
    contest: float = DEFAULT_CONTEST


def route(evidence: Evidence, thresholds: Thresholds) -> Route:
    """The entry when it is confident enough (less is needed when the articles agree with
    it), unless an article it does not cite is confident and clearly better; else the
    article when it is confident enough and no entry contests it; else a hand-over to
    staff. `calibrate answers` chooses the thresholds with this same function."""
    article_ok = evidence.article_confidence >= thresholds.article
    needed = thresholds.agreed if evidence.agreed else thresholds.entry
    if evidence.entry_confidence >= needed:
        outdone = (
            article_ok
            and not evidence.agreed
            and evidence.article_confidence >= evidence.entry_confidence + thresholds.margin
        )
        if not outdone:
            return Route.ENTRY
    contested = not evidence.cites_first and evidence.entry_confidence >= thresholds.contest
    return Route.ARTICLE if article_ok and not contested else Route.HAND_OVER


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
        agreed_threshold: float | None = None,
        contest_threshold: float = CONTEST_THRESHOLD,
    ) -> None:
        self.index = index
        self.max_chars = max_chars
        self.articles = articles
        self.thresholds = Thresholds(
            threshold,
            article_threshold,
            agreed_threshold if agreed_threshold is not None else min(AGREED_THRESHOLD, threshold),
            article_margin,
            contest_threshold,
        )

    @property
    def knowledge(self) -> KnowledgeBase:
        return self.index.knowledge

    def entry(self, entry_id: str) -> Entry | None:
        return self.knowledge.get(entry_id)

    def answer(self, question: str, thresholds: Thresholds | None = None) -> Answer:
        text = (question or "").strip()
        if not text:
            return Answer(AnswerStatus.EMPTY)
        if len(text) > self.max_chars:
            return Answer(AnswerStatus.TOO_LONG)
        if not _CJK_OR_LATIN.search(text):
            return Answer(AnswerStatus.UNCLEAR)
        return self.compose(*self.evidence(text), thresholds or self.thresholds)

    def compose(
        self,
        result: SearchResult,
        found: list[tuple[Article, float]],
        evidence: Evidence,
        thresholds: Thresholds,
    ) -> Answer:
        """The answer that both searches' results make at these thresholds (the calibration
        composes one question's results at several thresholds without searching again)."""
        scores = tuple((match.entry.id, round(match.score, 3)) for match in result.matches)
        best_score = found[0][1] if found else 0.0
        chosen = route(evidence, thresholds)
        if chosen is Route.ENTRY and result.best is not None:
            entry = result.best.entry
            related = tuple(e for e in (self.entry(i) for i in entry.related) if e)[:RELATED_SHOWN]
            return Answer(
                AnswerStatus.ANSWERED,
                result.confidence,
                entry,
                related,
                scores,
                article_confidence=best_score,
            )
        if chosen is Route.ARTICLE:
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

    def evidence(self, text: str) -> tuple[SearchResult, list[tuple[Article, float]], Evidence]:
        """Both searches for a question, and what the routing needs of them."""
        result = self.index.search(text, limit=5)
        found = self.articles.search(text, limit=5) if self.articles is not None else []
        cited = set(result.best.entry.citation_strings()) if result.best is not None else set()
        return (
            result,
            found,
            Evidence(
                result.confidence if result.best is not None else -1.0,
                found[0][1] if found else -1.0,
                any(article.citation in cited for article, _ in found[:2]),
                bool(found) and found[0][0].citation in cited,
            ),
        )


@cache
def default_answerer() -> Answerer:
    """The shipped knowledge base and the laws' articles, indexed once per process (about
    two seconds; the articles add about 0.2 s)."""
    analyzer = TextAnalyzer()
    answerer = Answerer(
        KnowledgeIndex(load_knowledge_base(), analyzer), articles=ArticleIndex(load_articles(), analyzer)
    )
    analyzer.read_question("社保")  # builds the pinyin reader now, not on the first question
    return answerer
