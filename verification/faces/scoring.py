"""Scores beyond one pair: cohort normalisation (S-norm) and fusion over references and frames.

S-norm (symmetric score normalisation): a raw score s(r, p) between a reference r and a probe
p is compared with how r and p score against a cohort of other people:

    snorm(r, p) = ((s - mean_r) / std_r + (s - mean_p) / std_p) / 2

where mean_r, std_r are taken over s(r, c) for every cohort template c, and likewise for p.
Some faces are "close to everyone" (a plain, common-looking face, a low-quality archive photo)
and some far from everyone; normalising removes that per-face offset, which a single global
threshold cannot. The normalised score keeps the engine's direction (for a distance engine
lower is still more alike) and has its own calibrated threshold.

In production the cohort is the other retirees' reference templates of the same residence
region (bounded to `MAX_COHORT`): the same population, the same archive photo conditions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from verification.faces.engine import FaceEngine

# Fewer cohort templates than this and the mean/std of the cohort scores are too noisy to
# normalise with (the std of a handful of scores is off by a quarter or more at random, and
# the adaptive top-10 below would be the whole cohort): decide on the raw score instead.
MIN_COHORT = 20
# More than this costs time (a probe is compared with every cohort template) and gains little.
MAX_COHORT = 200
# Adaptive S-norm: each face is normalised by the cohort templates most like it, not by all of
# them (the top 10 %, at least 10). A cohort of all the region's retirees mixes men and women,
# young and old; the mean over all of them mostly measures how unlike the *average* retiree a
# face is, while the nearest tenth measures how close the face's look-alikes come, which is
# what an impostor would be. Chosen on the calibration half (A) of the shared faces' East
# Asian identities only, dlib engine, one reference, FNMR at FMR 1 %: raw 33 %; S-norm over
# the whole cohort 74 % (worse: the cohort's mix of faces is not the probe's); closest 10
# 23 %. Held-out figures: README, "Face matching".
TOP_FRACTION = 0.10
MIN_TOP = 10
# std floor: a cohort whose scores are all alike would blow the normalised score up.
_MIN_STD = 1e-6


@dataclass(frozen=True)
class CohortStats:
    mean: float
    std: float
    size: int


def scores_against(engine: FaceEngine, vector: np.ndarray, others: np.ndarray) -> np.ndarray:
    """`engine.compare(vector, row)` for every row of `others` (an N x D array), vectorised for
    the known engines (Euclidean distance, cosine similarity), element by element otherwise."""
    others = np.asarray(others, dtype=np.float32)
    if others.size == 0:
        return np.zeros(0, dtype=np.float64)
    vector = np.asarray(vector, dtype=np.float32).ravel()
    many = getattr(engine, "compare_many", None)
    if callable(many):
        return np.asarray(many(vector, others), dtype=np.float64)
    return np.asarray([engine.compare(vector, row) for row in others], dtype=np.float64)


def top_count(cohort_size: int) -> int:
    """How many of the most alike cohort scores the adaptive S-norm uses."""
    return min(cohort_size, max(MIN_TOP, math.ceil(TOP_FRACTION * cohort_size)))


def cohort_stats(
    engine: FaceEngine, vector: np.ndarray, cohort: np.ndarray, *, adaptive: bool = True
) -> CohortStats:
    """Mean and std of `vector`'s scores against the cohort (the most alike `top_count` of
    them when `adaptive`)."""
    scores = scores_against(engine, vector, cohort)
    if scores.size == 0:
        return CohortStats(float("nan"), float("nan"), 0)
    size = int(scores.size)
    if adaptive:
        ordered = np.sort(scores)
        keep = top_count(size)
        scores = ordered[-keep:] if engine.higher_is_closer else ordered[:keep]
    return CohortStats(float(scores.mean()), float(max(scores.std(), _MIN_STD)), size)


def s_norm(raw: float, reference: CohortStats, probe: CohortStats) -> float:
    return 0.5 * ((raw - reference.mean) / reference.std + (raw - probe.mean) / probe.std)


def fuse(scores: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """The weighted mean of several scores of one claim (one per reference).

    A mean, not the best score: the best of k impostor scores matches far more often than one
    impostor score does, so taking the best would raise the false-match rate with every
    reference added and void the calibrated threshold; the mean's impostor tail gets thinner
    with k instead, so a threshold calibrated on single pairs stays on the safe side.
    """
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        raise ValueError("nothing to fuse")
    w = np.ones_like(values) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != values.shape or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be non-negative, one per score, not all zero")
    return float((values * w).sum() / w.sum())


def fuse_vectors(vectors: Sequence[np.ndarray], weights: Sequence[float] | None = None) -> np.ndarray:
    """One probe vector from several frames of the same capture: their weighted mean.

    Frames of one video note show the same face a fraction of a second apart; averaging their
    vectors, like dlib's jitter averaging, cancels part of the per-frame noise (pose, blur,
    compression). An engine comparing by cosine re-normalises the mean in `compare`.
    """
    stack = np.asarray([np.asarray(v, dtype=np.float32).ravel() for v in vectors], dtype=np.float32)
    if stack.size == 0:
        raise ValueError("nothing to fuse")
    w = np.ones(len(stack)) if weights is None else np.asarray(weights, dtype=np.float64)
    mean = (stack * w[:, None]).sum(axis=0) / w.sum()
    return mean.astype(np.float32)


def quality_weight(figures: dict[str, Any]) -> float:
    """How much a capture's score counts, from its quality figures (0.25 .. 1).

    Two figures tell most about how far a genuine score strays (measured on the shared faces
    with the dlib engine, see verification.faces.quality): a small face (a low-resolution
    archive crop: below ~100 px the encoder sees mostly interpolation) and a turned head
    (genuine distances grow with yaw; FNMR doubles above a yaw ratio of 0.4). Missing figures
    count as good: the weight never refuses a capture, the quality gates do that.
    """
    weight = 1.0
    width = figures.get("face_width_px")
    if isinstance(width, int | float) and width > 0:
        weight *= float(np.clip(width / 120.0, 0.4, 1.0))
    yaw = figures.get("yaw_ratio")
    if isinstance(yaw, int | float):
        weight *= float(np.clip(1.0 - max(abs(yaw) - 0.15, 0.0) * 1.5, 0.5, 1.0))
    sharpness = figures.get("sharpness")
    if isinstance(sharpness, int | float) and sharpness >= 0:
        weight *= float(np.clip(sharpness / 60.0, 0.6, 1.0))
    return max(weight, 0.25)
