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

Closeness is measured twice: in meaning (the sentence vectors) and in wording (`Wording`:
TF-IDF over single characters and pairs of characters, as Chinese text retrieval commonly
does). The wording catches what a sentence encoder blurs, a law's term or a phrase shared
with an example; out of fold on the dev sets (whole sets per fold, fitting.py) it let 59 more
of 2,442 questions be answered right, at one fewer wrong.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence

import numpy as np
from scipy.sparse import csr_matrix

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


class Wording:
    """TF-IDF over single characters and pairs of characters, the rows of unit length, as
    scikit-learn's TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
    computes it (tests/employer/test_examples.py compares them). Written out because importing
    scikit-learn's text module would add about 65 MB and 1.5 s to every process that answers."""

    def __init__(self, texts: Sequence[str]) -> None:
        counted = [_character_grams(text) for text in texts]
        self.column = {gram: i for i, gram in enumerate(sorted(set().union(*counted)))}
        documents_with = np.zeros(len(self.column))
        for grams in counted:
            documents_with[[self.column[gram] for gram in grams]] += 1
        self.idf = np.log((1 + len(texts)) / (1 + documents_with)) + 1  # smoothed, as scikit-learn's
        rows, columns, weights = [], [], []
        for number, grams in enumerate(counted):
            at, weight = self._weigh(grams)
            rows += [number] * len(at)
            columns += at
            weights += list(weight)
        # gram x text, so that a question's grams are a few rows to add up
        self.by_gram = csr_matrix((weights, (columns, rows)), shape=(len(self.column), len(texts)))

    def similarity(self, text: str) -> np.ndarray:
        """The cosine similarity of `text` to each text the index holds."""
        at, weight = self._weigh(_character_grams(text))
        if not at:
            return np.zeros(self.by_gram.shape[1])
        return np.asarray(self.by_gram[at].T @ weight).ravel()

    def _weigh(self, grams: Counter[str]) -> tuple[list[int], np.ndarray]:
        """The columns of the known grams and their weights, of unit length together."""
        known = [(self.column[gram], count) for gram, count in grams.items() if gram in self.column]
        at = [column for column, _ in known]
        weight = np.array([1 + np.log(count) for _, count in known]) * self.idf[at]
        return at, weight / (float(np.linalg.norm(weight)) or 1.0)


def _character_grams(text: str) -> Counter[str]:
    text = re.sub(r"\s\s+", " ", text.lower())
    return Counter(text[i : i + n] for n in (1, 2) for i in range(len(text) - n + 1))


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
        self.wording = Wording(self.texts)
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
        return self._nearness(similarity, leave_out)

    def near_in_wording(self, text: str, leave_out: Collection[str] = ()) -> Nearness:
        """The same, measured in shared characters: `text` is the question as read."""
        return self._nearness(self.wording.similarity(text), leave_out)

    def _nearness(self, similarity: np.ndarray, leave_out: Collection[str]) -> Nearness:
        for question in leave_out:
            number = self._position.get(question)
            if number is not None:
                similarity[number] = -np.inf
        return Nearness(similarity, self.support, self.outside)
