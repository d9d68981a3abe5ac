"""Labelled example questions: the dev sets' questions, each with the answer it expects, as
the fourth view the confidence model weighs (beside the two word searches and closeness in
meaning to the known questions, semantic.py).

The known questions of an answer are those its authors thought of; the dev questions are how
employers' clerks really ask, written blind from the law texts by people who never saw the
entries, and labelled by reading the articles. A new question close in meaning to an example
that expects a candidate's answer is more likely to be one that answer serves; one closest to
an out-of-scope example is more likely to be about something else. Measured out of fold on
the 1,194 dev questions of stop 31 (each question's own fold left out of the examples it may
consult), these features let 846 be answered right against 808, at the same 28 wrong; on the
held-out sets the in-scope questions answered right rose from 84 % to 89 % (README).

An example supports a candidate the way `evaluation.is_right` would judge the candidate as
the example's answer: an entry when the example expects it or one of its citations, an
article when the example expects it or an entry whose answer rests on it (its first
citation). The examples come from the dev sets only: a held-out question never becomes one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence

import numpy as np

from content.knowledge.articles import Article
from content.knowledge.model import Entry
from content.knowledge.question_sets import DEV_SETS, EVAL_DIR, expected_parts, normalise_citation, read_set
from content.knowledge.semantic import article_key, entry_key

NO_SUPPORT = 0.2  # the similarity a candidate no example expects is given (below any real one)
# The vote of the nearest examples: the VOTERS closest, each weighing exp(similarity /
# VOTE_TEMPERATURE) (a close example outweighs a far one). Chosen on the dev sets out of fold
# (5 to 25 voters and temperatures 0.02 to 0.1 were within a few questions of each other).
VOTERS = 10
VOTE_TEMPERATURE = 0.05


def dev_examples() -> list[tuple[str, str]]:
    """Every dev set's (question, expected), a question asked twice kept once."""
    rows: dict[str, str] = {}
    for name in DEV_SETS:
        for question, expected in read_set(EVAL_DIR / name):
            rows.setdefault(question, expected)
    return list(rows.items())


class Nearness:
    """How close a question is to the examples it may consult."""

    def __init__(self, similarity: np.ndarray, support: dict[str, np.ndarray], outside: np.ndarray) -> None:
        self.similarity = similarity  # per example; -inf for one left out
        self.support = support  # answer key -> the examples that expect it
        consulted = np.isfinite(similarity)
        self.best = float(similarity[consulted].max()) if consulted.any() else NO_SUPPORT
        self.nearest = int(np.argmax(similarity)) if consulted.any() else -1
        outside = outside[consulted[outside]] if len(outside) else outside
        self.outside = float(similarity[outside].max()) if len(outside) else NO_SUPPORT
        voters = min(VOTERS, int(consulted.sum()))  # those left out are -inf: never among them
        self.voters = np.argpartition(-similarity, voters - 1)[:voters] if voters else np.empty(0, int)
        weights = np.exp((similarity[self.voters].astype(np.float64) - self.best) / VOTE_TEMPERATURE)
        self.weights = weights / weights.sum() if voters else weights

    def of(self, key: str) -> float:
        """The similarity of the closest example that expects this answer."""
        supporting = self.support.get(key)
        if supporting is None:
            return NO_SUPPORT
        return max(NO_SUPPORT, float(self.similarity[supporting].max()))

    def vote(self, key: str) -> float:
        """The weighted share of the nearest examples that expect this answer (0..1)."""
        supporting = self.support.get(key)
        if supporting is None or not len(self.voters):
            return 0.0
        return float(self.weights[np.isin(self.voters, supporting)].sum())

    def nearest_expects(self, key: str) -> bool:
        supporting = self.support.get(key)
        return supporting is not None and bool(np.any(supporting == self.nearest))


class ExampleIndex:
    """The labelled examples, their sentence vectors, and which answers each supports."""

    def __init__(
        self,
        examples: Sequence[tuple[str, str]],
        texts: Sequence[str],
        vectors: np.ndarray,
        entries: Sequence[Entry],
        articles: Sequence[Article],
    ) -> None:
        self.questions = [question for question, _ in examples]
        self.texts = list(texts)  # the questions as read (pinyin read, normalised): what was embedded
        self.vectors = vectors
        self._position = {question: number for number, question in enumerate(self.questions)}
        by_id = {entry.id: entry for entry in entries}
        citing: defaultdict[str, list[Entry]] = defaultdict(list)  # citation -> the entries citing it
        for entry in entries:
            for citation in entry.citation_strings():
                citing[normalise_citation(citation)].append(entry)
        article_of = {normalise_citation(article.citation): article for article in articles}
        support: defaultdict[str, set[int]] = defaultdict(set)
        outside = []
        for number, (_, expected) in enumerate(examples):
            parts = expected_parts(expected)
            if not parts:
                outside.append(number)
            for part in parts:
                cited = normalise_citation(part)
                for entry in citing.get(cited, ()):
                    support[entry_key(entry)].add(number)
                if cited in article_of:
                    support[article_key(article_of[cited])].add(number)
                expected_entry = by_id.get(part)
                if expected_entry is not None:
                    support[entry_key(expected_entry)].add(number)
                    if expected_entry.citations:  # and the article its answer rests on
                        rests_on = normalise_citation(expected_entry.citations[0].text)
                        if rests_on in article_of:
                            support[article_key(article_of[rests_on])].add(number)
        self.support = {key: np.array(sorted(numbers), dtype=int) for key, numbers in support.items()}
        self.outside = np.array(outside, dtype=int)

    def near(self, vector: np.ndarray, leave_out: Collection[str] = ()) -> Nearness:
        """The question's closeness to each example; `leave_out` names examples not to consult
        (when the calibration rates a dev question, those of its own fold)."""
        similarity = self.vectors @ vector if len(self.questions) else np.empty(0)
        for question in leave_out:
            number = self._position.get(question)
            if number is not None:
                similarity[number] = -np.inf
        return Nearness(similarity, self.support, self.outside)
