"""The face pipeline: safe decoding, quality gates, templates and verdicts.

Plain Python domain code (no bot, web or database imports). Importing this package does not
load any face model: the dlib engine is loaded on first use, in the process that does face
work (a `FaceWorkerPool` worker or a console command).
"""

from verification.faces.media import DecodedImage, MediaLimits, MediaRejected, decode_image
from verification.faces.pipeline import (
    DEFAULT_MATCH_THRESHOLD,
    IncompatibleTemplate,
    ReferenceResult,
    ReferenceTemplate,
    SelfieVerdict,
    VerifyPolicy,
    check_selfie,
    encode_reference,
)
from verification.faces.pool import FaceWorkerCrashed, FaceWorkerPool, FaceWorkError, FaceWorkTimeout
from verification.faces.quality import QualityThresholds
from verification.faces.reasons import RETRYABLE, Reason

__all__ = [
    "DEFAULT_MATCH_THRESHOLD",
    "RETRYABLE",
    "DecodedImage",
    "FaceWorkError",
    "FaceWorkTimeout",
    "FaceWorkerCrashed",
    "FaceWorkerPool",
    "IncompatibleTemplate",
    "MediaLimits",
    "MediaRejected",
    "QualityThresholds",
    "Reason",
    "ReferenceResult",
    "ReferenceTemplate",
    "SelfieVerdict",
    "VerifyPolicy",
    "check_selfie",
    "decode_image",
    "encode_reference",
]
