"""Judging answers on labelled question sets, and choosing the confidence thresholds.

A labelled question has an expected value: an entry id, one or more article citations
separated by `|` ("工伤保险条例 第十七条|社会保险法 第三十六条", any of them is right), or
nothing for a question outside the assistant's scope (the right outcome is a hand-over).

An answer is *correct* when it was given (an entry or articles) and matches what was expected,
*wrong* when it was given otherwise (including any answer to an out-of-scope question), and
*handed over* when the assistant was not sure enough and left the question to staff.

The calibration (content/knowledge/fitting.py) works on each question's candidates, labelled
right or wrong (`labelled_candidates`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from content.knowledge.answering import Answer, Answerer, AnswerStatus
from content.knowledge.confidence import Candidate
from content.knowledge.model import KnowledgeBase
from content.knowledge.question_sets import expected_parts, normalise_citation

GIVEN = frozenset({AnswerStatus.ANSWERED, AnswerStatus.ARTICLE})
BIN_WIDTH = 0.1


class Outcome(StrEnum):
    CORRECT = "correct"
    WRONG = "wrong"
    HANDED_OVER = "handed_over"


def is_right(answer: Answer, expected: str, knowledge: KnowledgeBase | None = None) -> bool:
    """Whether what the answer gives matches `expected` (whatever its status). An entry is
    right when it is expected or cites an expected article. Quoted articles are right when
    one is expected or, given the knowledge base, is the first citation of an expected entry:
    the article that entry's answer rests on (社会保险法 第八十六条 for "罚款多少" where the
    fine entry was expected); an entry that merely shares a citation is still another answer."""
    parts = expected_parts(expected)
    if not parts:
        return False
    if answer.entry is not None and answer.entry.id in parts:
        return True
    accepted = {normalise_citation(part) for part in parts}
    if knowledge is not None and answer.status is AnswerStatus.ARTICLE:
        for part in parts:
            entry = knowledge.get(part)
            if entry is not None and entry.citations:
                accepted.add(normalise_citation(entry.citations[0].text))
    return any(normalise_citation(citation) in accepted for citation in answer.citations)


def judge(answer: Answer, expected: str, knowledge: KnowledgeBase | None = None) -> Outcome:
    if answer.status not in GIVEN:
        return Outcome.HANDED_OVER
    return Outcome.CORRECT if is_right(answer, expected, knowledge) else Outcome.WRONG


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


def labelled_candidates(
    answerer: Answerer, question: str, expected: str, leave_out: Collection[str] = ()
) -> list[tuple[Candidate, bool]]:
    """The candidates the answerer weighs for a question, each labelled right or wrong; none
    for a question it does not search (empty, too long, a topic handled elsewhere). A candidate
    is judged as the answer it would make, by `is_right`. `leave_out`: the labelled examples
    the answerer must not consult (the question's own fold)."""
    if answerer.screen(question) is not None:
        return []
    return [
        (candidate, is_right(_given(candidate), expected, answerer.knowledge))
        for candidate, _ in answerer.evidence(question.strip(), leave_out).rated
    ]


def _given(candidate: Candidate) -> Answer:
    """The answer a candidate makes when it is given (as `is_right` judges it)."""
    if candidate.entry is not None:
        return Answer(AnswerStatus.ANSWERED, entry=candidate.entry)
    assert candidate.article is not None
    return Answer(AnswerStatus.ARTICLE, articles=(candidate.article,))


def wilson_upper(wrong: int, total: int, z: float) -> float:
    """The upper end of the Wilson score interval for a share of `wrong` in `total` (z = 0:
    the share itself)."""
    if total == 0:
        return 1.0
    share = wrong / total
    spread = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total))
    return (share + z * z / (2 * total) + spread) / (1 + z * z / total)


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
