"""The seam between the product and a face-recognition library.

The pipeline only knows `FaceEngine`: find faces, turn one into a vector, compare two vectors.
`verification.faces.dlib_engine` implements it with face_recognition/dlib and
`verification.faces.onnx_engine` with an ArcFace-class ONNX model; `verification.faces.engines`
builds the one the configuration names. Vectors made by different engines
(or different weights) live in different spaces: a template records its engine's `name`, and
comparing across names is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

Point = tuple[float, float]  # (x, y) in pixels of the image given to `detect`


@dataclass(frozen=True)
class FaceBox:
    """A face's box in pixels of the image given to `detect` (right/bottom exclusive)."""

    top: int
    right: int
    bottom: int
    left: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


@dataclass(frozen=True)
class Landmarks:
    """The points the quality gates need, whatever landmark model an engine has.

    Eye points run around the eye contour, six each when the engine has them (dlib's 68-point
    model: corner, two upper lid points, corner, two lower lid points), which is what the
    eye-aspect-ratio gate needs; a 5-point engine gives the eye centre only, and that gate then
    reports no figure instead of guessing. "left"/"right" are as seen in the image. The mouth
    corners serve the five-point alignment of ArcFace-class engines (None where unknown).
    """

    left_eye: tuple[Point, ...]
    right_eye: tuple[Point, ...]
    nose_tip: Point
    mouth_left: Point | None = None
    mouth_right: Point | None = None


@dataclass(frozen=True)
class DetectedFace:
    box: FaceBox
    landmarks: Landmarks | None
    detector_score: float | None = None  # the detector's own confidence, where it gives one


@runtime_checkable
class FaceEngine(Protocol):
    # Identifies the vector space: templates only compare with vectors of the same name.
    name: str
    # Library and weights versions, recorded beside every template and attempt for audit.
    version: str
    # True when `compare` returns a similarity (higher = more alike, e.g. ArcFace cosine);
    # False when it returns a distance (lower = more alike, e.g. dlib's Euclidean distance).
    higher_is_closer: bool

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """All faces in an H x W x 3 uint8 RGB image, with landmarks."""
        ...

    def embed(self, image: np.ndarray, face: DetectedFace) -> np.ndarray:
        """The identity vector (1-D float32) of one detected face of `image`."""
        ...

    def compare(self, a: np.ndarray, b: np.ndarray) -> float:
        """Distance or similarity of two vectors (see `higher_is_closer`)."""
        ...


def is_match(score: float | np.ndarray, threshold: float, higher_is_closer: bool) -> bool | np.ndarray:
    """The one place that decides which side of the threshold is a match (a score exactly at
    the threshold matches). Works elementwise on an array of scores."""
    return score >= threshold if higher_is_closer else score <= threshold
