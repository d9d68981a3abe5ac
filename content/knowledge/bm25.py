"""The scoring parts the entry index (search.py) and the article index (articles.py) share:
a BM25 field whose documents belong to owners (entries, articles), and word rarity with the
coverage measure built on it.

`BM25Field` fits rank-bm25's BM25Okapi and keeps its term weights in a sparse matrix, so a
question is scored by summing a few columns. BM25Okapi.get_scores walks every document in
Python for every query word (about 3 ms per question over the article notes' 4,600 questions);
the weight of a word in a document does not depend on the question, so the sums are the same
(tests/employer/test_bm25.py checks them against get_scores).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from rank_bm25 import BM25Okapi
from scipy.sparse import csr_matrix

_EMPTY = "\u0000"  # stands in for an empty document, which BM25Okapi cannot hold


class BM25Field:
    """One BM25 index whose documents belong to owners, several documents per owner allowed:
    an owner scores as its best document."""

    def __init__(self, documents: list[tuple[int, list[str]]], owners: int, k1: float, b: float) -> None:
        self.owner = np.array([owner for owner, _ in documents], dtype=int)
        self.owners = owners
        corpus = [tokens or [_EMPTY] for _, tokens in documents]
        bm25 = BM25Okapi(corpus, k1=k1, b=b)  # its weights are copied below; it is not kept
        self.column = {token: i for i, token in enumerate(sorted(set().union(*map(set, corpus))))}
        rows, columns, weights = [], [], []
        for document, frequencies in enumerate(bm25.doc_freqs):
            length = k1 * (1 - b + b * bm25.doc_len[document] / bm25.avgdl)
            for token, count in frequencies.items():
                rows.append(self.column[token])
                columns.append(document)
                weights.append((bm25.idf.get(token) or 0.0) * count * (k1 + 1) / (count + length))
        # word x document, so that a question's words are a few rows to add up
        self.weights = csr_matrix((weights, (rows, columns)), shape=(len(self.column), len(corpus)))
        # one document per owner, in order: the document scores are the owners'
        self.single = np.array_equal(self.owner, np.arange(owners))

    def document_scores(self, tokens: list[str]) -> np.ndarray:
        """BM25Okapi.get_scores(tokens) for the known tokens (a repeated word counts again)."""
        rows = [self.column[token] for token in tokens if token in self.column]
        if not rows:
            return np.zeros(self.weights.shape[1])
        return np.asarray(self.weights[rows].sum(axis=0)).ravel()

    def scores(self, tokens: list[str]) -> np.ndarray:
        """Per owner, the score of its best document."""
        per_document = self.document_scores(tokens)
        if self.single:
            return per_document
        per_owner = np.zeros(self.owners)
        np.maximum.at(per_owner, self.owner, per_document)
        return per_owner


@dataclass(frozen=True)
class Rarity:
    """How rare each word is among a set of documents (BM25's idf), and the weight of a word
    none of them holds: the rarest's."""

    idf: dict[str, float]
    unseen: float

    @classmethod
    def of(cls, documents: Iterable[set[str]]) -> Rarity:
        frequency: dict[str, int] = defaultdict(int)
        count = 0
        for document in documents:
            count += 1
            for token in document:
                frequency[token] += 1
        idf = {token: math.log(1 + (count - df + 0.5) / (df + 0.5)) for token, df in frequency.items()}
        return cls(idf, max(idf.values(), default=1.0))

    def __contains__(self, word: str) -> bool:
        return word in self.idf

    def weight(self, group: tuple[str, ...]) -> float:
        """A word's rarity, or its first synonym's that is known."""
        return next((self.idf[form] for form in group if form in self.idf), self.unseen)

    def coverage(self, groups: list[tuple[str, ...]], held: set[str]) -> float:
        """Share of the question's words, weighted by rarity, that a document holds; a word
        counts as held when its synonym is. A word no document holds weighs like the rarest, so
        a question about something else scores low; a number the document lacks (a wage, a
        date) is left out."""
        total = found = 0.0
        for group in dict.fromkeys(groups):
            has = any(form in held for form in group)
            if not has and group[0][0].isdigit():
                continue
            weight = self.weight(group)
            total += weight
            found += weight if has else 0.0
        return found / total if total else 0.0
