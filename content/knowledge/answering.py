"""From a question to an answer: the most probable of the best entry and the best articles
(content/knowledge/confidence.py) when it is probable enough; otherwise the closest topics
and articles (and, in the service, a hand-over to staff). A question about a topic another
body handles (the housing fund, taxes: content/knowledge/elsewhere.py) gets a pointer there.

The confidence model and its threshold are read from content/data/knowledge/calibration.toml
(written by `pension-bot calibrate answers`); without the file, the candidates' own scores
and DEFAULT_THRESHOLD are used."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path

from content.knowledge.articles import Article, ArticleIndex, ArticleMatch, load_articles
from content.knowledge.confidence import Candidate, ConfidenceModel, candidates, choose, rate
from content.knowledge.elsewhere import Elsewhere, ElsewhereTopic, default_elsewhere
from content.knowledge.examples import ExampleIndex, dev_examples
from content.knowledge.model import DATA_DIR, Entry, KnowledgeBase, load_knowledge_base
from content.knowledge.pinyin import spells_pinyin, strip_tones
from content.knowledge.search import KnowledgeIndex, SearchResult
from content.knowledge.semantic import (
    EMBEDDINGS_FILE,
    SemanticIndex,
    known_questions,
    read_vectors,
    sentence_model,
    vectors_of,
)
from content.knowledge.text import TextAnalyzer

CALIBRATION_FILE = DATA_DIR / "calibration.toml"
DEFAULT_THRESHOLD = 0.7  # with no fitted model: the candidates' own scores
MAX_QUESTION_CHARS = 500
RELATED_SHOWN = 3
ARTICLES_SHOWN = 3  # the closest articles listed when handing over
SECOND_ARTICLE = 0.9  # a second article of the same law is quoted when it scores this close

_CJK_OR_LATIN = re.compile(r"[\u3400-\u9fffA-Za-z]")


@dataclass(frozen=True)
class Calibration:
    model: ConfidenceModel | None = None
    threshold: float = DEFAULT_THRESHOLD


def load_calibration(path: Path = CALIBRATION_FILE) -> Calibration:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Calibration()
    return Calibration(ConfidenceModel.from_toml(data["model"]), float(data["threshold"]))


class AnswerStatus(StrEnum):
    ANSWERED = "answered"  # the best entry, confidently
    ARTICLE = "article"  # no entry was confident: the governing article(s) of the law, quoted
    UNSURE = "unsure"  # not confident: closest topics, and the question goes to staff
    ELSEWHERE = "elsewhere"  # another body handles the topic: a pointer there
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
    article_confidence: float = 0.0  # the most probable article's probability
    elsewhere: ElsewhereTopic | None = None

    @property
    def citations(self) -> list[str]:
        if self.status is AnswerStatus.ANSWERED and self.entry is not None:
            return self.entry.citation_strings()
        if self.status is AnswerStatus.ARTICLE:
            return [article.citation for article in self.articles]
        return []


def detect_language(text: str) -> str:
    """zh_Hans when the text has any Chinese character or is pinyin alone (every word of it
    spells pinyin: "shebao duanjiao zenme ban"), else en."""
    if re.search(r"[\u3400-\u9fff]", text):
        return "zh_Hans"
    words = re.findall(r"[a-z]+", strip_tones(text.lower()))
    return "zh_Hans" if words and all(spells_pinyin(word) for word in words) else "en"


@dataclass(frozen=True)
class Evidence:
    """What the two searches found for one question: the searches' results, and the
    candidates with their probabilities, most probable first."""

    result: SearchResult
    found: list[ArticleMatch]
    rated: list[tuple[Candidate, float]]


class Answerer:
    def __init__(
        self,
        index: KnowledgeIndex,
        articles: ArticleIndex | None = None,
        calibration: Calibration | None = None,
        elsewhere: Elsewhere | None = None,
        max_chars: int = MAX_QUESTION_CHARS,
        semantic: SemanticIndex | None = None,
        examples: ExampleIndex | None = None,
    ) -> None:
        self.index = index
        self.examples = examples
        self.articles = articles
        self.calibration = calibration or Calibration()
        self.elsewhere = elsewhere
        self.semantic = semantic
        self.max_chars = max_chars

    @property
    def knowledge(self) -> KnowledgeBase:
        return self.index.knowledge

    def entry(self, entry_id: str) -> Entry | None:
        return self.knowledge.get(entry_id)

    def answer(self, question: str, leave_out: Collection[str] = ()) -> Answer:
        """`leave_out`: labelled examples not to consult (a dev question asked in `eval
        answers` is answered without itself)."""
        screened = self.screen(question)
        if screened is not None:
            return screened
        return self.compose(self.evidence(question.strip(), leave_out), self.calibration.threshold)

    def screen(self, question: str) -> Answer | None:
        """The answer a question gets without searching (nothing asked, too long, no word at
        all, a topic another body handles); None for a question to search."""
        text = (question or "").strip()
        if not text:
            return Answer(AnswerStatus.EMPTY)
        if len(text) > self.max_chars:
            return Answer(AnswerStatus.TOO_LONG)
        if not _CJK_OR_LATIN.search(text):
            return Answer(AnswerStatus.UNCLEAR)
        if self.elsewhere is not None:
            topic = self.elsewhere.topic(self.index.analyzer.normalise(text))
            if topic is not None:
                return Answer(AnswerStatus.ELSEWHERE, elsewhere=topic)
        return None

    def compose(self, evidence: Evidence, threshold: float) -> Answer:
        """The answer the evidence makes at this threshold."""
        result, found = evidence.result, evidence.found
        scores = tuple((match.entry.id, round(match.score, 3)) for match in result.matches)
        best_article = next((p for c, p in evidence.rated if c.article is not None), 0.0)
        chosen = choose(evidence.rated, threshold)
        if chosen is not None:
            best, probability = chosen
            if best.entry is not None:
                entry = best.entry
                related = tuple(e for e in (self.entry(i) for i in entry.related) if e)[:RELATED_SHOWN]
                return Answer(
                    AnswerStatus.ANSWERED,
                    probability,
                    entry,
                    related,
                    scores,
                    article_confidence=best_article,
                )
            assert best.article is not None
            score = next(match.score for match in found if match.article is best.article)
            quoted = [best.article] + [
                match.article
                for match in found[:2]
                if match.article is not best.article
                and match.article.source == best.article.source
                and match.score >= SECOND_ARTICLE * score
            ][:1]
            return Answer(
                AnswerStatus.ARTICLE,
                probability,
                scores=scores,
                articles=tuple(quoted),
                article_confidence=best_article,
            )
        if result.best is None and not found:
            return Answer(AnswerStatus.UNCLEAR, scores=scores)
        closest = tuple(match.entry for match in result.matches[:RELATED_SHOWN])
        return Answer(
            AnswerStatus.UNSURE,
            evidence.rated[0][1] if evidence.rated else 0.0,
            None,
            closest,
            scores,
            articles=tuple(match.article for match in found[:ARTICLES_SHOWN]),
            article_confidence=best_article,
        )

    def evidence(self, text: str, leave_out: Collection[str] = ()) -> Evidence:
        """Both searches for a question, and the candidates they make, rated. `leave_out`:
        labelled examples not to consult (the calibration's own fold of dev questions)."""
        result = self.index.search(text, limit=5)
        found = self.articles.candidates(text, limit=5) if self.articles is not None else []
        read = self.index.analyzer.read_question(text)
        closeness = nearness = wording = None
        if self.semantic is not None:
            vector = self.semantic.encode(read)
            closeness = self.semantic.closeness(vector)
            if self.examples is not None:
                nearness = self.examples.near(vector, leave_out)
        if self.examples is not None:
            wording = self.examples.near_in_wording(read, leave_out)
        measured = candidates(read, result, found, self.unknown_words(read), closeness, nearness, wording)
        return Evidence(result, found, rate(measured, self.calibration.model))

    def unknown_words(self, read: str) -> float:
        """The share of the question's words that neither the entries nor the articles hold
        (numbers aside): high for a question about something else."""
        groups = [g for g in self.index.analyzer.word_groups(read, normalised=True) if not g[0][0].isdigit()]
        if not groups:
            return 0.0
        unknown = sum(
            not any(
                self.index.knows(form) or (self.articles is not None and self.articles.knows(form))
                for form in group
            )
            for group in groups
        )
        return unknown / len(groups)


@cache
def default_answerer() -> Answerer:
    """The shipped knowledge base, the laws' articles, the sentence vectors of their known
    questions and of the labelled examples, indexed once per process (about three seconds:
    the articles add about 0.2 s, the sentence encoder about 0.5 s and 140 MiB)."""
    analyzer = TextAnalyzer()
    knowledge, articles = load_knowledge_base(), load_articles()
    model, stored = sentence_model(), read_vectors(EMBEDDINGS_FILE)
    examples = dev_examples()
    read = [analyzer.read_question(question) for question, _ in examples]
    answerer = Answerer(
        KnowledgeIndex(knowledge, analyzer),
        ArticleIndex(articles, analyzer),
        load_calibration(),
        default_elsewhere(),
        semantic=SemanticIndex(known_questions(knowledge.entries, articles), model, stored),
        examples=ExampleIndex(
            examples,
            read,
            vectors_of(model, read, stored),
            knowledge.entries,
            articles,
        ),
    )
    analyzer.read_question("社保")  # builds the pinyin reader now, not on the first question
    answerer.evidence("社保")  # and loads the sentence encoder
    return answerer
