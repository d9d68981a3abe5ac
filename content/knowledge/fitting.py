"""Fitting the answerer's confidence model and choosing its threshold, on dev questions only.

Each dev question gives its candidates (content/knowledge/confidence.py), each labelled right
or wrong against the question's expected answer; an out-of-scope question's candidates are
all wrong. A logistic regression per kind of candidate (scikit-learn) learns P(right).

The threshold is chosen on out-of-fold probabilities: the questions are split into folds,
and each fold is rated by a model fitted on the others, so that every question's probability
comes from a model that never saw it. Choosing the threshold on the fitted model's own
probabilities would flatter it (in-sample thresholds kept 3 % wrong on dev sets and gave
5-16 % on held-out ones). The folds keep each set whole (`folds_by_set`): a set is one
writer's, a held-out question comes from a writer the model has not read, so a dev question
is rated, and its labelled examples consulted, without its writer's other questions. Random
folds let it lean on its writer's near-twins among the examples: with them the dev sets
promised 2.7 % wrong and the held-out contribution sets gave 3.4 %. The model finally
shipped is fitted on all the dev questions.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from content.knowledge.confidence import Candidate, ConfidenceModel, Logistic, choose, rate
from content.knowledge.evaluation import Tally, wilson_upper

Labelled = Sequence[tuple[Candidate, bool]]  # one question's candidates, each right or not
REGULARISATION = 10.0  # scikit-learn's C (inverse strength): chosen by cross-validation on dev
FOLDS = 5


def fit(questions: Sequence[Labelled], c: float = REGULARISATION) -> ConfidenceModel:
    models = []
    for kind in ("entry", "article"):
        rows = [(c.features, right) for question in questions for c, right in question if c.kind == kind]
        labels = {right for _, right in rows}
        if len(labels) < 2:  # all right or all wrong: nothing to learn; a constant
            constant = 30.0 if labels == {True} else -30.0
            width = len(rows[0][0]) if rows else 0
            models.append(Logistic(constant, (0.0,) * width))
            continue
        regression = LogisticRegression(C=c, max_iter=10_000)
        regression.fit(np.array([f for f, _ in rows]), np.array([r for _, r in rows]))
        models.append(Logistic(float(regression.intercept_[0]), tuple(float(w) for w in regression.coef_[0])))
    return ConfidenceModel(*models)


Rated = list[tuple[Candidate, float, bool]]  # a question's candidates: probability, right


def rated(question: Labelled, model: ConfidenceModel) -> Rated:
    right = {id(candidate): label for candidate, label in question}
    return [(c, p, right[id(c)]) for c, p in rate([c for c, _ in question], model)]


def fold_of(count: int, folds: int = FOLDS, seed: int = 0) -> list[int]:
    """Each of `count` questions' fold, at random but always the same."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    fold = [0] * count
    for position, index in enumerate(order):
        fold[index] = position % folds
    return fold


def folds_by_set(set_of_question: Sequence[str], folds: int = FOLDS) -> list[int]:
    """Each question's fold when whole sets are kept together: the largest set first, each
    into the fold holding the fewest questions so far (ties by name: always the same)."""
    sizes = Counter(set_of_question)
    held = [0] * folds
    fold_of_set = {}
    for name, size in sorted(sizes.items(), key=lambda item: (-item[1], item[0])):
        fold = min(range(folds), key=lambda f: held[f])
        fold_of_set[name] = fold
        held[fold] += size
    return [fold_of_set[name] for name in set_of_question]


def out_of_fold(
    questions: Sequence[Labelled],
    folds: int = FOLDS,
    c: float = REGULARISATION,
    seed: int = 0,
    fold: Sequence[int] | None = None,
) -> list[Rated]:
    """Per question, in order: its candidates rated by a model fitted without the question's
    fold (`fold` gives each question's; by default `fold_of` assigns them at random), each
    with whether it is right."""
    fold_of_question = list(fold) if fold is not None else fold_of(len(questions), folds, seed)
    out: list[Rated] = [[] for _ in questions]
    for left_out in sorted(set(fold_of_question)):
        model = fit([q for i, q in enumerate(questions) if fold_of_question[i] != left_out], c)
        for i, question in enumerate(questions):
            if fold_of_question[i] == left_out:
                out[i] = rated(question, model)
    return out


def given(question: Rated, threshold: float) -> tuple[float, bool] | None:
    """The probability of the answer the answerer would give, and whether it is right."""
    chosen = choose([(c, p) for c, p, _ in question], threshold)
    if chosen is None:
        return None
    return chosen[1], next(right for c, _, right in question if c is chosen[0])


def outcomes(questions: Sequence[Rated], threshold: float) -> Tally:
    tally = Tally()
    for question in questions:
        answer = given(question, threshold)
        if answer is None:
            tally.handed_over += 1
        elif answer[1]:
            tally.correct += 1
        else:
            tally.wrong += 1
    return tally


def best_pairs(questions: Sequence[Rated]) -> list[tuple[float, bool]]:
    """Per question, the most probable candidate's probability and whether it is right (for
    the reliability table); (0, False) for a question with no candidate."""
    return [(question[0][1], question[0][2]) if question else (0.0, False) for question in questions]


@dataclass(frozen=True)
class Choice:
    threshold: float
    tally: Tally
    feasible: bool  # False when no threshold keeps wrong answers under the limit


def choose_threshold(
    questions: Sequence[Rated], max_wrong: float, z: float = 0.0, step: float = 0.01
) -> Choice:
    """The lowest threshold (the most correct answers) whose share of wrong answers, or with
    `z` > 0 its upper Wilson bound, is at most `max_wrong`; when none is, the one with the
    fewest wrong answers."""
    thresholds = [round(i * step, 4) for i in range(1, int(round(1 / step)) + 1)]
    fallback: Choice | None = None
    for threshold in thresholds:
        tally = outcomes(questions, threshold)
        if wilson_upper(tally.wrong, tally.total, z) <= max_wrong + 1e-12:
            return Choice(threshold, tally, True)
        if fallback is None or tally.wrong < fallback.tally.wrong:
            fallback = Choice(threshold, tally, False)
    assert fallback is not None
    return fallback
