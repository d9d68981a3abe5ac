"""How likely an answer is to be right, from what the two searches found.

The knowledge base's search gives its best entry and the article index its best articles.
Each becomes a candidate answer described by a few measurements: its own score, how far it
stands above the next one (a clear winner is more often right than the best of several close
ones), whether the entry cites the article (two searches over different texts agreeing),
whether the question names the article's law, how many of the question's words neither
index knows (a question about something else), how close in meaning the question is to the
questions the candidate is known to answer (semantic.py), how close in meaning and in wording
to the labelled dev questions that expect it (examples.py), and so on. A logistic model per
kind of candidate turns the measurements into the probability that the candidate is right; the
answerer gives the most probable candidate when that probability reaches the calibrated
threshold, and hands the question to staff otherwise.

The model's weights and the threshold are fitted by `pension-bot calibrate answers` on the
dev question sets only (content/knowledge/fitting.py) and stored in calibration.toml. Without
that file the candidates' own scores stand in for the probabilities.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from content.knowledge.articles import Article, ArticleMatch
from content.knowledge.examples import Nearness
from content.knowledge.model import Entry
from content.knowledge.search import SearchResult
from content.knowledge.semantic import Closeness, article_key, entry_key

# Closeness in meaning (content/knowledge/semantic.py), the same for both kinds of candidate.
MEANING_FEATURES = (
    "meaning",  # the similarity of its closest known question (centred)
    "meaning_gap",  # how far that stands below the closest answer's
    "meaning_first",  # it is the closest answer in meaning
    "meaning_top3",
    "meaning_best",  # the closest answer's similarity (low: a question about something else)
)
# Closeness to the labelled examples (content/knowledge/examples.py), the same for both kinds.
EXAMPLE_FEATURES = (
    "example",  # the similarity of the closest example expecting it (centred)
    "example_gap",  # how far that stands below the closest example's
    "example_nearest",  # the closest example expects it
    "example_outside",  # the closest out-of-scope example's similarity (centred)
    "example_vote",  # the weighted share of the ten nearest examples that expect it
)
# The same closeness to the examples measured in wording (shared characters), not in meaning.
WORDING_FEATURES = tuple(f"{name}_wording" for name in EXAMPLE_FEATURES)
ENTRY_FEATURES = (
    "confidence",  # the knowledge base's own confidence in its best entry
    "lead",  # how far its score stands above the second entry's (0..1, relative)
    "cites_best_article",
    "cites_top_articles",  # the entry cites one of the three best articles
    "best_article_score",
    "english",
    "unknown_words",
    *MEANING_FEATURES,
    *EXAMPLE_FEATURES,
    *WORDING_FEATURES,
)
ARTICLE_FEATURES = (
    "score",  # the article index's score (0..1)
    "lead",  # its score minus the best other article's
    "first",  # it is the best article by score
    "word_cover",
    "gram_cover",
    "strength",  # its BM25 score against a strong match's
    "relative_total",  # its BM25 score against the best candidate's
    "relative_asked",  # its closest note question against the best candidate's
    "intent_match",
    "off_subject",
    "entry_cites",  # the best entry cites this article
    "entry_cites_confident",  # the same, times the entry's confidence
    "law_named",  # the question names this article's law
    "english",
    "same_law",  # the share of the other candidates from the same law
    "unknown_words",
    *MEANING_FEATURES,
    *EXAMPLE_FEATURES,
    *WORDING_FEATURES,
)
ARTICLES_RATED = 5
# Sentence similarities are centred on about the median similarity of a candidate (they range
# over 0.2-0.9), for the meaning and the example features alike.
SIMILARITY_CENTRE = 0.7
STRONG_SCORE = 22.0  # as the article index's (a weighted BM25 score this high is strong)
# How a question may name a law, besides its full name.
LAW_NAMES = {
    "社会保险法": ("社会保险法", "社保法", "social insurance law"),
    "社会保险费征缴暂行条例": ("征缴", "collection of social insurance"),
    "工伤保险条例": ("工伤", "work injury", "work-related injury", "injured at work"),
    "失业保险条例": ("失业", "unemploy"),
    "社会保险经办条例": ("经办", "handling"),
    "劳动合同法": ("劳动合同法", "labour contract law", "labor contract law"),
    "劳动合同法实施条例": ("实施条例", "implementing regulation", "implementation regulation"),
    "劳动保障监察条例": ("监察", "inspect"),
}
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Candidate:
    """One possible answer: the best entry, or one of the best articles."""

    features: tuple[float, ...]
    entry: Entry | None = None
    article: Article | None = None

    @property
    def kind(self) -> str:
        return "entry" if self.entry is not None else "article"


def meaning(closeness: Closeness | None, key: str) -> tuple[float, ...]:
    """The MEANING_FEATURES of one answer (all nought without a semantic index)."""
    if closeness is None:
        return (0.0,) * len(MEANING_FEATURES)
    similarity, rank = closeness.of(key), closeness.rank(key)
    return (
        similarity - SIMILARITY_CENTRE,
        closeness.best - similarity,
        float(rank == 0),
        float(rank < 3),
        closeness.best - SIMILARITY_CENTRE,
    )


def near_examples(nearness: Nearness | None, key: str) -> tuple[float, ...]:
    """The EXAMPLE_FEATURES (or, of a nearness in wording, the WORDING_FEATURES) of one answer
    (all nought without labelled examples)."""
    if nearness is None:
        return (0.0,) * len(EXAMPLE_FEATURES)
    similarity = nearness.of(key)
    return (
        similarity - SIMILARITY_CENTRE,
        nearness.best - similarity,
        float(nearness.nearest_expects(key)),
        nearness.outside - SIMILARITY_CENTRE,
        nearness.vote(key),
    )


def candidates(
    question: str,
    result: SearchResult,
    found: Sequence[ArticleMatch],
    unknown_words: float,
    closeness: Closeness | None = None,
    nearness: Nearness | None = None,
    wording: Nearness | None = None,
) -> list[Candidate]:
    """The best entry and the best articles of one question, measured. `question` is the
    text as read (normalised, pinyin read); `unknown_words` the share of its words that
    neither index holds; `closeness` how close in meaning the question is to each answer's
    known questions, `nearness` to the labelled examples, and `wording` to them in wording."""
    english = 0.0 if _CJK.search(question) else 1.0
    lowered = question.lower()
    rated = list(found[:ARTICLES_RATED])
    cited = set(result.best.entry.citation_strings()) if result.best is not None else set()
    entry_confidence = result.confidence if result.best is not None else 0.0
    most = max((match.total for match in rated), default=0.0) or 1.0
    most_asked = max((match.from_asked for match in rated), default=0.0) or 1.0
    out = []
    for rank, match in enumerate(rated):
        others = [other for other in rated if other is not match]
        cites = float(match.article.citation in cited)
        named = any(name in lowered for name in LAW_NAMES.get(match.article.source, (match.article.source,)))
        features = (
            match.score,
            match.score - max((other.score for other in others), default=0.0),
            float(rank == 0),
            match.word_cover,
            match.gram_cover,
            min(1.0, match.total / STRONG_SCORE),
            match.total / most,
            match.from_asked / most_asked,
            match.intent_match,
            float(match.off_subject),
            cites,
            cites * entry_confidence,
            float(named),
            english,
            sum(other.article.source == match.article.source for other in others) / max(1, len(others)),
            unknown_words,
            *meaning(closeness, article_key(match.article)),
            *near_examples(nearness, article_key(match.article)),
            *near_examples(wording, article_key(match.article)),
        )
        out.append(Candidate(features, article=match.article))
    if result.best is not None:
        first, second = result.matches[0].score, result.matches[1].score if len(result.matches) > 1 else 0.0
        top = [match.article.citation for match in rated[:3]]
        entry_features = (
            entry_confidence,
            (first - second) / first if first > 0 else 0.0,
            float(bool(top) and top[0] in cited),
            float(any(citation in cited for citation in top)),
            rated[0].score if rated else 0.0,
            english,
            unknown_words,
            *meaning(closeness, entry_key(result.best.entry)),
            *near_examples(nearness, entry_key(result.best.entry)),
            *near_examples(wording, entry_key(result.best.entry)),
        )
        out.append(Candidate(entry_features, entry=result.best.entry))
    return out


@dataclass(frozen=True)
class Logistic:
    """P(right) = 1 / (1 + exp(-(bias + weights . features)))."""

    bias: float
    weights: tuple[float, ...]

    def probability(self, features: Sequence[float]) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, features, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


@dataclass(frozen=True)
class ConfidenceModel:
    entry: Logistic
    article: Logistic

    def probability(self, candidate: Candidate) -> float:
        return (self.entry if candidate.kind == "entry" else self.article).probability(candidate.features)

    def as_toml(self) -> dict[str, Any]:
        return {
            kind: {"bias": model.bias, "weights": dict(zip(names, model.weights, strict=True))}
            for kind, model, names in (
                ("entry", self.entry, ENTRY_FEATURES),
                ("article", self.article, ARTICLE_FEATURES),
            )
        }

    @classmethod
    def from_toml(cls, data: dict[str, Any]) -> ConfidenceModel:
        """The model as `as_toml` wrote it; a feature the file lacks weighs nothing (a
        calibration older than a new feature still loads), a weight for an unknown one is
        refused."""
        models = []
        for kind, names in (("entry", ENTRY_FEATURES), ("article", ARTICLE_FEATURES)):
            weights = dict(data[kind]["weights"])
            unknown = set(weights) - set(names)
            if unknown:
                raise ValueError(f"calibration: unknown {kind} feature(s) {sorted(unknown)}")
            models.append(
                Logistic(float(data[kind]["bias"]), tuple(float(weights.get(n, 0.0)) for n in names))
            )
        return cls(*models)


def own_score(candidate: Candidate) -> float:
    """Without a fitted model: the candidate's own score (the entry's confidence, the
    article's score) stands in for the probability that it is right."""
    return candidate.features[0]


def rate(candidates: Sequence[Candidate], model: ConfidenceModel | None) -> list[tuple[Candidate, float]]:
    """The candidates with their probabilities, most probable first (an entry before an
    article at the same probability: the curated text reads better)."""
    rated = [
        (candidate, model.probability(candidate) if model is not None else own_score(candidate))
        for candidate in candidates
    ]
    rated.sort(key=lambda pair: (-pair[1], pair[0].kind != "entry"))
    return rated


ENTRY_MARGIN = 0.05  # how far below the most probable candidate an entry may be and still be given


def choose(rated: Sequence[tuple[Candidate, float]], threshold: float) -> tuple[Candidate, float] | None:
    """The answer to give, if any: the most probable candidate when it is probable enough,
    except that an entry nearly as probable (within ENTRY_MARGIN) is given before an article:
    it answers in plain words and cites its articles. (An entry probable enough used to be
    given before any article at all; with the examples of 22 dev sets, this rule answered 23
    more of 3,931 dev questions right and 3 fewer wrong, out of fold; giving the most probable
    alone, 22 and 2.)"""
    given = sorted((pair for pair in rated if pair[1] >= threshold), key=lambda pair: -pair[1])
    if not given:
        return None
    entry = next((pair for pair in given if pair[0].entry is not None), None)
    return entry if entry is not None and entry[1] >= given[0][1] - ENTRY_MARGIN else given[0]
