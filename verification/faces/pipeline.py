"""Reference photo -> template; selfie + template -> verdict. Plain, synchronous, CPU-bound.

Call these from a face worker (`verification.faces.pool`) or a console command, never on the
bot's event loop: one selfie costs ~0.2 s of CPU.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from verification.faces.engine import FaceEngine, is_match
from verification.faces.engines import DLIB_ENGINE_NAME
from verification.faces.media import DecodedImage, MediaLimits, MediaRejected, decode_image
from verification.faces.quality import Figures, QualityThresholds, assess
from verification.faces.reasons import Reason
from verification.faces.scoring import MIN_COHORT, cohort_stats, fuse, fuse_vectors, quality_weight, s_norm

# Match threshold on the dlib-resnet-v1 Euclidean distance (lower = more alike): a selfie
# matches its reference when distance <= this. The library's customary 0.6 lets a quarter of
# East Asian impostor pairs through. Chosen with `pension-bot eval faces --root
# ../shared/faces` (this pipeline, one encoding per photo, all 212 photos encoded, every pair):
#                      all: FNMR     FMR      East Asian (cn_, jp_, kr_): FNMR     FMR
#   pairs                   1,126    21,240                               1,010    10,618
#   0.40                    46.5 %   0.08 %                               46.0 %   0.16 %
#   0.43                    29.8 %   0.24 %                               28.5 %   0.47 %
#   0.45 (chosen)           21.1 %   0.49 %                               19.6 %   0.98 %
#   0.47                    13.7 %   0.90 %                               12.2 %   1.81 %
#   0.50                     6.1 %   1.95 %                                4.9 %   3.91 %
#   0.55                     1.1 %   5.29 %                                0.8 %  10.59 %
# 0.45 is the most lenient value keeping East Asian FMR <= 1 % (the exact cut is 0.4506). The
# cost: about one genuine attempt in five fails and must be retried or referred to staff. The
# closest East Asian impostor pair lies at 0.36, so no threshold makes this engine safe on its
# own. Another engine has its own scale (and direction) and needs its own value. The product
# takes its thresholds (this one, and one on S-norm scores) from the calibrated thresholds
# file (verification.faces.thresholds, `pension-bot calibrate`); this is the bare default.
DEFAULT_MATCH_THRESHOLD = 0.45

Verdict = Literal["pass", "fail", "retry"]


class IncompatibleTemplate(ValueError):
    """The template was made by another engine (vector space): re-enrol the reference."""


@dataclass(frozen=True)
class ReferenceTemplate:
    vector: bytes  # little-endian float32 identity vector, as stored
    engine: str  # FaceEngine.name: only vectors of the same engine compare
    engine_version: str  # library and weights versions, for audit

    @classmethod
    def from_array(cls, array: np.ndarray, engine: FaceEngine) -> ReferenceTemplate:
        return cls(np.asarray(array, dtype="<f4").tobytes(), engine.name, engine.version)

    def to_array(self) -> np.ndarray:
        return np.frombuffer(self.vector, dtype="<f4")


@dataclass(frozen=True)
class VerifyPolicy:
    # On the engine's own scale; see DEFAULT_MATCH_THRESHOLD for how it was chosen. In the
    # product the policy comes from the calibrated thresholds file (`policy_for`).
    match_threshold: float = DEFAULT_MATCH_THRESHOLD
    media: MediaLimits = field(default_factory=MediaLimits)
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    # The engine (vector space) these thresholds were calibrated for: a policy for another
    # engine is refused, since its scores live on another scale. None: not checked.
    engine: str | None = DLIB_ENGINE_NAME
    # Threshold on the cohort-normalised (S-norm) score, used when a cohort of at least
    # `min_cohort` templates comes with the check; None: always decide on the raw score.
    snorm_threshold: float | None = None
    min_cohort: int = MIN_COHORT
    # Frames of one capture (a video note) used at most; the rest are not looked at.
    max_frames: int = 5


@dataclass(frozen=True)
class ReferenceResult:
    template: ReferenceTemplate | None  # None when the photo cannot serve as a reference
    reason: Reason | None  # why not (no_face, several_faces, not_an_image, ...)
    quality: Figures
    evidence_sha256: str
    timings: dict[str, float]

    @property
    def ok(self) -> bool:
        return self.template is not None


@dataclass(frozen=True)
class SelfieVerdict:
    verdict: Verdict  # pass = same person; fail = a good capture of someone else; retry = fix it
    reason: Reason  # match, no_match, or the capture problem to fix
    distance: float | None  # the engine's comparison score; None when no comparison was made
    threshold: float
    engine: str
    quality: Figures  # every figure measured, for the attempt record
    failed_gates: tuple[Reason, ...]
    evidence_sha256: str  # of the selfie bytes exactly as received
    timings: dict[str, float]  # seconds per stage, and "total_s" (decode to verdict)
    # How the decision was made: "raw" (fused raw score) and "snorm" (normalised, or None),
    # "decided_on", both thresholds, and how many references, frames and cohort templates.
    scores: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (reason codes are plain strings)."""
        return asdict(self) | {"failed_gates": [str(r) for r in self.failed_gates]}


@functools.cache
def default_engine() -> FaceEngine:
    """The dlib engine, created once per process (loading its models takes about a second)."""
    from verification.faces.dlib_engine import DlibEngine  # heavy: only where faces are worked

    return DlibEngine()


def encode_reference(
    image_bytes: bytes, *, limits: MediaLimits | None = None, engine: FaceEngine | None = None
) -> ReferenceResult:
    """A template from a reference photo: exactly one face, no other quality gate (an archive
    photo cannot be retaken; its figures are returned so staff can judge it)."""
    engine = engine or default_engine()
    clock = _Clock()
    sha = hashlib.sha256(image_bytes).hexdigest()
    try:
        image = decode_image(image_bytes, limits)
    except MediaRejected as rejected:
        return ReferenceResult(None, rejected.reason, {}, sha, clock.done("decode_s"))
    clock.lap("decode_s")
    faces = engine.detect(image.pixels)
    clock.lap("detect_s")
    report = assess(image.pixels, faces, face_count_only=True)
    figures = report.figures | _image_figures(image)
    if not report.ok:
        return ReferenceResult(None, report.reason, figures, sha, clock.done("quality_s"))
    clock.lap("quality_s")
    vector = engine.embed(image.pixels, faces[0])
    template = ReferenceTemplate.from_array(vector, engine)
    return ReferenceResult(template, None, figures, sha, clock.done("embed_s"))


def check_selfie(
    reference_template: ReferenceTemplate,
    selfie_bytes: bytes,
    policy: VerifyPolicy | None = None,
    *,
    engine: FaceEngine | None = None,
) -> SelfieVerdict:
    """Decode, gate and compare a selfie against one reference template (raw score only)."""
    return verify([reference_template], [selfie_bytes], policy, engine=engine)


def verify(
    references: Sequence[ReferenceTemplate],
    frames: Sequence[bytes],
    policy: VerifyPolicy | None = None,
    *,
    engine: FaceEngine | None = None,
    reference_weights: Sequence[float] | None = None,
    cohort: np.ndarray | Sequence[ReferenceTemplate] | None = None,
    evidence_sha256: str | None = None,
) -> SelfieVerdict:
    """One claim: a capture (one photo, or several frames of one video note) against every
    reference of the retiree, optionally normalised against a cohort of other people.

    * frames: each is decoded and gated; those that fail a gate are left out, and if none
      passes the verdict is "retry" with the first frame's reason. The vectors of the good
      ones (at most `policy.max_frames`) are averaged, weighted by their quality.
    * references: the raw score against each, fused by their weighted mean
      (`reference_weights`, e.g. `quality_weight` of each reference's figures). Templates of
      another engine are skipped; IncompatibleTemplate when none is of this engine.
    * cohort: other people's templates of the same engine (N x D array, or templates, those
      of another engine being skipped). With at least `policy.min_cohort` of them and an
      S-norm threshold in the policy, the decision is on the fused S-norm score; otherwise
      on the raw one. Both are in `SelfieVerdict.scores`.
    """
    policy = policy or VerifyPolicy()
    engine = engine or default_engine()
    if not frames:
        raise ValueError("verify needs at least one reference and one frame")
    usable = usable_references(references, engine, policy, reference_weights)
    clock = _Clock()
    sha = evidence_sha256 or hashlib.sha256(frames[0]).hexdigest()
    scores: dict[str, Any] = usable.scores()

    def verdict(
        kind: Verdict,
        reason: Reason,
        distance: float | None,
        figures: Figures,
        failed: tuple[Reason, ...] = (),
        threshold: float = policy.match_threshold,
    ) -> SelfieVerdict:
        return SelfieVerdict(
            kind, reason, distance, threshold, engine.name, figures, failed, sha, clock.done(), scores
        )

    good: list[tuple[DecodedImage, Any, Figures]] = []
    first_refusal: tuple[Reason, Figures, tuple[Reason, ...]] | None = None
    for data in frames:
        if len(good) >= policy.max_frames:
            break
        try:
            image = decode_image(data, policy.media)
        except MediaRejected as rejected:
            clock.lap("decode_s")
            first_refusal = first_refusal or (rejected.reason, {}, (rejected.reason,))
            continue
        clock.lap("decode_s")
        faces = engine.detect(image.pixels)
        clock.lap("detect_s")
        report = assess(image.pixels, faces, policy.quality)
        figures = report.figures | _image_figures(image)
        clock.lap("quality_s")
        if report.reason is not None:
            first_refusal = first_refusal or (report.reason, figures, report.failed)
            continue
        good.append((image, faces[0], figures))
    if not good:
        reason, figures, failed = first_refusal  # type: ignore[misc]  # frames is not empty
        return verdict("retry", reason, None, figures, failed)

    vectors = [engine.embed(image.pixels, face) for image, face, _ in good]
    clock.lap("embed_s")
    decision = match_vectors(usable, vectors, [quality_weight(f) for *_, f in good], policy, engine, cohort)
    scores |= decision.scores
    clock.lap("compare_s")
    figures = good[0][2]
    if decision.matched:
        return verdict("pass", Reason.MATCH, round(decision.raw, 4), figures, threshold=decision.threshold)
    return verdict("fail", Reason.NO_MATCH, round(decision.raw, 4), figures, threshold=decision.threshold)


@dataclass(frozen=True)
class UsableReferences:
    """The references of one claim that the engine can compare with, and their weights."""

    vectors: list[np.ndarray]
    weights: list[float] | None
    skipped: int  # references of another engine, left out

    def scores(self) -> dict[str, Any]:
        """The start of a verdict's `scores` record."""
        scores: dict[str, Any] = {"references": len(self.vectors), "frames": 0}
        if self.skipped:
            scores["references_skipped"] = self.skipped
        return scores


def usable_references(
    references: Sequence[ReferenceTemplate],
    engine: FaceEngine,
    policy: VerifyPolicy,
    reference_weights: Sequence[float] | None = None,
) -> UsableReferences:
    """The references `engine` can compare with; IncompatibleTemplate when there are none, or
    when the policy was calibrated for another engine."""
    if not references:
        raise ValueError("verify needs at least one reference and one frame")
    if policy.engine is not None and policy.engine != engine.name:
        raise IncompatibleTemplate(f"policy calibrated for {policy.engine!r}, engine is {engine.name!r}")
    if reference_weights is not None and len(reference_weights) != len(references):
        raise ValueError("one weight per reference")
    # References of another engine (left from before a change of engine, until staff
    # re-enrol them) are skipped; with none of this engine, nothing can be compared.
    usable = [n for n, template in enumerate(references) if template.engine == engine.name]
    if not usable:
        raise IncompatibleTemplate(f"template from {references[0].engine!r}, engine is {engine.name!r}")
    weights = None if reference_weights is None else [reference_weights[n] for n in usable]
    vectors = [references[n].to_array() for n in usable]
    return UsableReferences(vectors, weights, len(references) - len(usable))


@dataclass(frozen=True)
class VectorMatch:
    matched: bool
    raw: float  # the fused raw score against the references
    threshold: float  # the threshold the decision was made on (raw or S-norm)
    scores: dict[str, Any]  # "frames", "raw", "snorm", "decided_on", ... for the verdict record


def match_vectors(
    references: UsableReferences,
    vectors: Sequence[np.ndarray],
    weights: Sequence[float],
    policy: VerifyPolicy,
    engine: FaceEngine,
    cohort: np.ndarray | Sequence[ReferenceTemplate] | None = None,
) -> VectorMatch:
    """The decision on probe vectors of one capture (photo or video frames): their vectors
    fused by `weights`, scored raw against every reference, S-norm against the cohort when
    the policy has a threshold for it, and the match decided on the policy's threshold."""
    probe = vectors[0] if len(vectors) == 1 else fuse_vectors(list(vectors), list(weights))
    reference_vectors, reference_weights = references.vectors, references.weights
    scores: dict[str, Any] = {"frames": len(vectors)}
    for reference in reference_vectors:
        if reference.shape != probe.shape:
            raise IncompatibleTemplate(
                f"template has {reference.shape[0]} values, engine gives {probe.shape[0]}"
            )
    raw_each = [engine.compare(reference, probe) for reference in reference_vectors]
    raw = fuse(raw_each, reference_weights)
    scores |= {"raw": round(raw, 4), "raw_threshold": policy.match_threshold, "snorm": None}
    if len(raw_each) > 1:
        scores["raw_each"] = [round(value, 4) for value in raw_each]

    decided_on, score, threshold = "raw", raw, policy.match_threshold
    cohort_matrix = _cohort_matrix(cohort, engine.name, probe.shape[0])
    scores["cohort"] = int(cohort_matrix.shape[0])
    if policy.snorm_threshold is not None:
        scores["snorm_threshold"] = policy.snorm_threshold
        if cohort_matrix.shape[0] >= policy.min_cohort:
            probe_stats = cohort_stats(engine, probe, cohort_matrix)
            normalised = [
                s_norm(value, cohort_stats(engine, reference, cohort_matrix), probe_stats)
                for value, reference in zip(raw_each, reference_vectors, strict=True)
            ]
            snorm = fuse(normalised, reference_weights)
            scores["snorm"] = round(snorm, 4)
            decided_on, score, threshold = "snorm", snorm, policy.snorm_threshold
        else:
            # Too few cohort templates to estimate their mean and spread reliably (see
            # scoring.MIN_COHORT): the raw score against its own calibrated threshold decides.
            scores["snorm_skipped"] = "small_cohort"
    scores["decided_on"] = decided_on
    return VectorMatch(bool(is_match(score, threshold, engine.higher_is_closer)), raw, threshold, scores)


def _cohort_matrix(
    cohort: np.ndarray | Sequence[ReferenceTemplate] | None, engine_name: str, dimension: int
) -> np.ndarray:
    """The cohort as an N x D float32 array; templates of another engine or size are left out
    (during a change of engine the region holds both kinds for a while)."""
    if cohort is None:
        return np.zeros((0, dimension), dtype=np.float32)
    if isinstance(cohort, np.ndarray):
        if cohort.size == 0:
            return np.zeros((0, dimension), dtype=np.float32)
        if cohort.ndim != 2 or cohort.shape[1] != dimension:
            raise IncompatibleTemplate(f"cohort of shape {cohort.shape}, engine gives {dimension} values")
        return cohort.astype(np.float32, copy=False)
    rows = [t.to_array() for t in cohort if t.engine == engine_name and len(t.vector) == dimension * 4]
    if not rows:
        return np.zeros((0, dimension), dtype=np.float32)
    return np.vstack(rows).astype(np.float32, copy=False)


def _image_figures(image: DecodedImage) -> Figures:
    width, height = image.size
    return {"image_width": width, "image_height": height, "exif_orientation": image.exif_orientation}


class _Clock:
    """Stage timings in seconds, measured with a monotonic clock."""

    def __init__(self) -> None:
        self._start = self._last = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._last, 4)
        self._last = now

    def done(self, last_stage: str | None = None) -> dict[str, float]:
        if last_stage is not None:
            self.lap(last_stage)
        self.timings["total_s"] = round(time.perf_counter() - self._start, 4)
        return dict(self.timings)
