"""Judging answers on labelled question sets, and choosing the confidence thresholds.

A labelled question has an expected value: an entry id, one or more article citations
separated by `|` ("工伤保险条例 第十七条|社会保险法 第三十六条", any of them is right), or
nothing for a question outside the assistant's scope (the right outcome is a hand-over).

An answer is *correct* when it was given (an entry or articles) and matches what was expected,
*wrong* when it was given otherwise (including any answer to an out-of-scope question), and
*handed over* when the assistant was not sure enough and left the question to staff.

The calibration works on points, one per question: the best entry's confidence and whether
that entry would be right, and the best articles' confidence and whether they would be right.
The routing is the answerer's own (`answering.route`): the entry when its confidence reaches
the entry threshold (or the lower agreed threshold when it cites one of the best two
articles), else the articles when theirs reaches the article threshold, else a hand-over.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from content.knowledge.answering import (
    DEFAULT_ARTICLE_MARGIN,
    DEFAULT_CONTEST,
    Answer,
    AnswerStatus,
    Evidence,
    Route,
    Thresholds,
    route,
)

GIVEN = frozenset({AnswerStatus.ANSWERED, AnswerStatus.ARTICLE})
DEFAULT_MAX_WRONG = 0.03
GRID_STEP = 0.02
BIN_WIDTH = 0.1


class Outcome(StrEnum):
    CORRECT = "correct"
    WRONG = "wrong"
    HANDED_OVER = "handed_over"


def normalise_citation(text: str) -> str:
    return re.sub(r"\s+", "", text)


def expected_parts(expected: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in expected.split("|") if part.strip())


def is_right(answer: Answer, expected: str) -> bool:
    """Whether what the answer gives matches `expected` (whatever its status)."""
    parts = expected_parts(expected)
    if not parts:
        return False
    if answer.entry is not None and answer.entry.id in parts:
        return True
    cited = {normalise_citation(citation) for citation in answer.citations}
    return any(normalise_citation(part) in cited for part in parts)


def judge(answer: Answer, expected: str) -> Outcome:
    if answer.status not in GIVEN:
        return Outcome.HANDED_OVER
    return Outcome.CORRECT if is_right(answer, expected) else Outcome.WRONG


@dataclass
class Tally:
    correct: int = 0
    wrong: int = 0
    handed_over: int = 0

    def add(self, outcome: Outcome) -> None:
        if outcome is Outcome.CORRECT:
            self.correct += 1
        elif outcome is Outcome.WRONG:
            self.wrong += 1
        else:
            self.handed_over += 1

    def __iadd__(self, other: Tally) -> Tally:
        self.correct += other.correct
        self.wrong += other.wrong
        self.handed_over += other.handed_over
        return self

    @property
    def total(self) -> int:
        return self.correct + self.wrong + self.handed_over

    def share(self, count: int) -> float:
        return count / self.total if self.total else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "questions": self.total,
            "correct": self.correct,
            "wrong": self.wrong,
            "handed_over": self.handed_over,
            "correct_share": round(self.share(self.correct), 4),
            "wrong_share": round(self.share(self.wrong), 4),
            "handed_over_share": round(self.share(self.handed_over), 4),
        }


# ------------------------------------------------------------------ calibration


@dataclass(frozen=True)
class Point:
    """One question: its best entry and best articles, each with a confidence and whether
    right, and whether the entry cites one of the two best articles."""

    entry_confidence: float
    entry_right: bool
    article_confidence: float = -1.0
    article_right: bool = False
    agreed: bool = False
    cites_first: bool = False

    @property
    def evidence(self) -> Evidence:
        return Evidence(self.entry_confidence, self.article_confidence, self.agreed, self.cites_first)


def decide(point: Point, thresholds: Thresholds) -> Outcome:
    chosen = route(point.evidence, thresholds)
    if chosen is Route.ENTRY:
        return Outcome.CORRECT if point.entry_right else Outcome.WRONG
    if chosen is Route.ARTICLE:
        return Outcome.CORRECT if point.article_right else Outcome.WRONG
    return Outcome.HANDED_OVER


def tally(points: Iterable[Point], thresholds: Thresholds) -> Tally:
    result = Tally()
    for point in points:
        result.add(decide(point, thresholds))
    return result


def grid(low: float = 0.0, high: float = 1.0, step: float = GRID_STEP) -> tuple[float, ...]:
    count = int(round((high - low) / step))
    return tuple(round(low + i * step, 4) for i in range(count + 1))


@dataclass(frozen=True)
class Choice:
    thresholds: Thresholds
    tally: Tally
    feasible: bool  # False when no point of the grid keeps wrong answers under the limit

    @property
    def entry_threshold(self) -> float:
        return self.thresholds.entry

    @property
    def article_threshold(self) -> float:
        return self.thresholds.article


def wilson_upper(wrong: int, total: int, z: float) -> float:
    """The upper end of the Wilson score interval for a share of `wrong` in `total` (z = 0:
    the share itself)."""
    if total == 0:
        return 1.0
    share = wrong / total
    spread = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total))
    return (share + z * z / (2 * total) + spread) / (1 + z * z / total)


def choose_thresholds(
    points: Sequence[Point],
    entry_grid: Sequence[float],
    article_grid: Sequence[float],
    max_wrong: float = DEFAULT_MAX_WRONG,
    agreed_grid: Sequence[float] | None = None,
    margin: float = DEFAULT_ARTICLE_MARGIN,
    z: float = 0.0,
    contest_grid: Sequence[float] = (DEFAULT_CONTEST,),
) -> Choice:
    """The thresholds with the most correct answers whose share of wrong answers is at most
    `max_wrong`; among equals, fewer wrong, then the stricter thresholds. With `z` > 0 it is
    the upper bound of that share (Wilson) that must stay under `max_wrong`: thresholds
    picked among thousands on a few hundred questions flatter themselves, and the held-out
    sets showed it (3 % on the dev sets was 5-16 % on questions never seen). Without an
    `agreed_grid` the agreed threshold is the entry threshold. When nothing keeps under the
    limit, the point with the fewest wrong answers (`feasible` False)."""
    best: tuple[tuple[float, ...], Choice] | None = None
    fallback: tuple[tuple[float, ...], Choice] | None = None
    for entry_threshold in entry_grid:
        agreed_values = (
            [entry_threshold] if agreed_grid is None else [a for a in agreed_grid if a <= entry_threshold]
        )
        for agreed_threshold, article_threshold, contest in itertools.product(
            agreed_values, article_grid, contest_grid
        ):
            thresholds = Thresholds(entry_threshold, article_threshold, agreed_threshold, margin, contest)
            result = tally(points, thresholds)
            key = (
                result.correct,
                -result.wrong,
                entry_threshold,
                agreed_threshold,
                article_threshold,
                -contest,
            )
            within = wilson_upper(result.wrong, result.total, z) <= max_wrong + 1e-12
            if within and (best is None or key > best[0]):
                best = (key, Choice(thresholds, result, True))
            fallback_key = (
                -result.wrong,
                result.correct,
                entry_threshold,
                agreed_threshold,
                article_threshold,
                -contest,
            )
            if fallback is None or fallback_key > fallback[0]:
                fallback = (fallback_key, Choice(thresholds, result, False))
    if best is not None:
        return best[1]
    if fallback is None:
        raise ValueError("an empty grid")
    return fallback[1]


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    questions: int
    right: int

    @property
    def share_right(self) -> float:
        return self.right / self.questions if self.questions else 0.0


def reliability(pairs: Iterable[tuple[float, bool]], width: float = BIN_WIDTH) -> list[Bin]:
    """How often an answer at each confidence is right: (confidence, right?) pairs in bins."""
    count = int(round(1 / width))
    totals = [0] * count
    rights = [0] * count
    for confidence, right in pairs:
        index = min(count - 1, max(0, int(confidence / width)))
        totals[index] += 1
        rights[index] += bool(right)
    return [
        Bin(round(i * width, 4), round((i + 1) * width, 4), totals[i], rights[i])
        for i in range(count)
        if totals[i]
    ]
