"""Reference photo -> template; selfie + template -> verdict. Plain, synchronous, CPU-bound.

Call these from a face worker (`verification.faces.pool`) or a console command, never on the
bot's event loop: one selfie costs ~0.2 s of CPU.
"""

from __future__ import annotations

import functools
import hashlib
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from verification.faces.engine import FaceEngine, is_match
from verification.faces.media import DecodedImage, MediaLimits, MediaRejected, decode_image
from verification.faces.quality import Figures, QualityThresholds, assess
from verification.faces.reasons import Reason

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
# own. Another engine has its own scale (and direction) and needs its own value.
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
    # On the engine's own scale; see DEFAULT_MATCH_THRESHOLD for how it was chosen.
    match_threshold: float = DEFAULT_MATCH_THRESHOLD
    media: MediaLimits = field(default_factory=MediaLimits)
    quality: QualityThresholds = field(default_factory=QualityThresholds)


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
    """Decode, gate and compare a selfie against a reference template."""
    policy = policy or VerifyPolicy()
    engine = engine or default_engine()
    if reference_template.engine != engine.name:
        raise IncompatibleTemplate(f"template from {reference_template.engine!r}, engine is {engine.name!r}")
    reference = reference_template.to_array()
    clock = _Clock()
    sha = hashlib.sha256(selfie_bytes).hexdigest()

    def verdict(
        kind: Verdict,
        reason: Reason,
        distance: float | None,
        figures: Figures,
        failed: tuple[Reason, ...] = (),
    ) -> SelfieVerdict:
        threshold, engine_name = policy.match_threshold, engine.name
        return SelfieVerdict(
            kind, reason, distance, threshold, engine_name, figures, failed, sha, clock.done()
        )

    try:
        image = decode_image(selfie_bytes, policy.media)
    except MediaRejected as rejected:
        clock.lap("decode_s")
        return verdict("retry", rejected.reason, None, {}, (rejected.reason,))
    clock.lap("decode_s")
    faces = engine.detect(image.pixels)
    clock.lap("detect_s")
    report = assess(image.pixels, faces, policy.quality)
    figures = report.figures | _image_figures(image)
    clock.lap("quality_s")
    if report.reason is not None:
        return verdict("retry", report.reason, None, figures, report.failed)

    vector = engine.embed(image.pixels, faces[0])
    clock.lap("embed_s")
    if vector.shape != reference.shape:
        raise IncompatibleTemplate(
            f"template has {reference.shape[0]} values, engine gives {vector.shape[0]}"
        )
    distance = engine.compare(reference, vector)
    clock.lap("compare_s")
    if is_match(distance, policy.match_threshold, engine.higher_is_closer):
        return verdict("pass", Reason.MATCH, round(distance, 4), figures)
    return verdict("fail", Reason.NO_MATCH, round(distance, 4), figures)


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
