"""Quality gates measured on the detected face: is this a capture worth comparing?

A bad capture must come back as "retry" with the thing to fix, never as "fail": a dark or
blurred selfie of the right person would otherwise look like someone else. Each figure is
returned whether or not its gate failed, for the attempt record.

Figures quoted below were measured with `DlibEngine` on /work/shared/faces/people (212 photos
with one face each, 20 East Asian identities among 34). Those are portraits and press photos,
not selfies; of them the selfie gates refuse 17 as too_far (low-resolution crops whose faces
are 44-75 px wide) and 8 as not_frontal (heads turned by more than about 30 degrees), and
none for light, blur or closed eyes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from verification.faces.engine import DetectedFace, Point
from verification.faces.reasons import Reason

Figures = dict[str, float | int | None]


@dataclass(frozen=True)
class QualityThresholds:
    # too_far: the face's box width must be at least this share of the picture's short side
    # (arm's-length selfies: 25-60 %; data set minimum 18 %, median 44 %) ...
    min_face_ratio: float = 0.15
    # ... and this many pixels wide in the working image: dlib encodes a 150 px chip of the
    # face plus margin, and below ~80 px that chip is mostly interpolation.
    min_face_px: int = 80
    # too_dark / too_bright: mean grey level (0-255) of the face box. Data set: 75-197.
    min_brightness: float = 50.0
    max_brightness: float = 215.0
    # ...and grey-level standard deviation: a flat face (backlit silhouette, blown-out flash)
    # has none of the shading the encoder relies on. Data set minimum 25; counts as too dark
    # or too bright after its mean.
    min_contrast: float = 15.0
    # too_blurry: variance of the Laplacian of the face box scaled to 128 x 128 grey (scaling
    # makes it independent of resolution). Data set: minimum 25, 5th percentile 70, median 340;
    # a Gaussian blur of sigma = 1 px of that 128 px crop brings sharp faces to 30-50, sigma 2
    # to 6-12 (the encoder's 150 px chip sees the same blur).
    min_sharpness: float = 15.0
    # not_frontal: sideways offset of the nose tip (dlib point 30) from the midpoint of the eyes,
    # as a share of the distance between the eyes: ~0 facing the camera, ~0.55 x tan(yaw), so
    # 0.35 is about 32 degrees. Data set: median 0.09, 95th percentile 0.31, maximum 0.63; mean
    # genuine distance 0.39 below 0.1, 0.42 at 0.3-0.4, 0.45 above 0.4, where FNMR at the
    # match threshold doubles (48 % against 19-23 % for the frontal bands).
    max_yaw_ratio: float = 0.35
    # eyes_closed: eye aspect ratio (lid-to-lid height over corner-to-corner width, mean of
    # both eyes). Open eyes: data set minimum 0.176 (an East Asian face), median 0.32; closed
    # eyes measure 0.05-0.12. Kept low on purpose: narrower eye openings (monolids, drooping
    # lids of old age) are common among the people this serves and must not be refused.
    min_eye_aspect_ratio: float = 0.15


@dataclass(frozen=True)
class QualityReport:
    reason: Reason | None  # the first gate that failed, in the order the person should fix them
    failed: tuple[Reason, ...]  # every gate that failed
    figures: Figures = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.reason is None


def assess(
    image: np.ndarray,
    faces: Sequence[DetectedFace],
    thresholds: QualityThresholds | None = None,
    *,
    face_count_only: bool = False,
) -> QualityReport:
    """Gate a capture. `face_count_only` measures everything but gates only on the number of
    faces (for reference photos from the archive, which cannot be retaken)."""
    thresholds = thresholds or QualityThresholds()
    figures: Figures = {"faces_found": len(faces)}
    if not faces:
        return QualityReport(Reason.NO_FACE, (Reason.NO_FACE,), figures)
    if len(faces) > 1:
        return QualityReport(Reason.SEVERAL_FACES, (Reason.SEVERAL_FACES,), figures)

    figures.update(measure(image, faces[0]))
    if face_count_only:
        return QualityReport(None, (), figures)
    failed = _failed_gates(figures, thresholds)
    return QualityReport(failed[0] if failed else None, failed, figures)


def measure(image: np.ndarray, face: DetectedFace) -> Figures:
    """Every figure the gates use, for one face of an H x W x 3 uint8 RGB image."""
    height, width = image.shape[:2]
    box = face.box
    grey = _grey(image[box.top : box.bottom, box.left : box.right])
    figures: Figures = {
        "face_width_px": box.width,
        "face_ratio": round(box.width / min(width, height), 4),
        "brightness_mean": round(float(grey.mean()), 2),
        "contrast_std": round(float(grey.std()), 2),
        "sharpness": round(laplacian_variance(grey), 2),
        "yaw_ratio": None,
        "eye_aspect_ratio": None,
    }
    if face.landmarks is not None:
        marks = face.landmarks
        figures["yaw_ratio"] = _rounded(yaw_ratio(marks.left_eye, marks.right_eye, marks.nose_tip))
        figures["eye_aspect_ratio"] = _rounded(mean_eye_aspect_ratio(marks.left_eye, marks.right_eye))
    return figures


def _failed_gates(figures: Figures, t: QualityThresholds) -> tuple[Reason, ...]:
    failed: list[Reason] = []
    ratio, width = float(figures["face_ratio"] or 0), float(figures["face_width_px"] or 0)
    if ratio < t.min_face_ratio or width < t.min_face_px:
        failed.append(Reason.TOO_FAR)
    brightness, contrast = float(figures["brightness_mean"] or 0), float(figures["contrast_std"] or 0)
    light_failed = True
    if brightness < t.min_brightness or (contrast < t.min_contrast and brightness < 128):
        failed.append(Reason.TOO_DARK)
    elif brightness > t.max_brightness or contrast < t.min_contrast:
        failed.append(Reason.TOO_BRIGHT)
    else:
        light_failed = False
    # A dark or flat face also measures as blurred; there the fix is the light, not the hand.
    if not light_failed and float(figures["sharpness"] or 0) < t.min_sharpness:
        failed.append(Reason.TOO_BLURRY)
    yaw = figures["yaw_ratio"]
    if yaw is not None and abs(yaw) > t.max_yaw_ratio:
        failed.append(Reason.NOT_FRONTAL)
    ear = figures["eye_aspect_ratio"]
    if ear is not None and ear < t.min_eye_aspect_ratio:
        failed.append(Reason.EYES_CLOSED)
    return tuple(failed)


def _grey(rgb: np.ndarray) -> np.ndarray:
    # ITU-R BT.601 luma, as float32 0..255.
    return rgb[..., 0] * np.float32(0.299) + rgb[..., 1] * np.float32(0.587) + rgb[..., 2] * np.float32(0.114)


def laplacian_variance(grey: np.ndarray, size: int = 128) -> float:
    """Variance of the 4-neighbour Laplacian of a grey crop scaled to size x size.

    Sharp edges give large second derivatives; blur flattens them. Scaling first makes the
    figure mean the same for a 90 px and a 900 px face.
    """
    if grey.size == 0:
        return 0.0
    crop = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).resize(
        (size, size), Image.Resampling.BILINEAR
    )
    g = np.asarray(crop, dtype=np.float32)
    laplacian = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4.0 * g[1:-1, 1:-1]
    return float(laplacian.var())


def yaw_ratio(left_eye: Sequence[Point], right_eye: Sequence[Point], nose_tip: Point) -> float | None:
    """Signed offset of the nose tip along the eye line from the eyes' midpoint, in eye distances.

    Measured along the eye line, so a tilted (rolled) head does not count as turned.
    """
    left, right = np.mean(left_eye, axis=0), np.mean(right_eye, axis=0)
    axis = right - left
    distance = float(np.linalg.norm(axis))
    if distance < 1e-6:
        return None
    offset = np.asarray(nose_tip, dtype=np.float64) - (left + right) / 2.0
    return float(np.dot(offset, axis / distance) / distance)


def eye_aspect_ratio(eye: Sequence[Point]) -> float | None:
    """(|p2-p6| + |p3-p5|) / (2 |p1-p4|) for the six dlib contour points of one eye."""
    if len(eye) != 6:
        return None
    p = np.asarray(eye, dtype=np.float64)
    width = float(np.linalg.norm(p[0] - p[3]))
    if width < 1e-6:
        return None
    return float((np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / (2.0 * width))


def mean_eye_aspect_ratio(left_eye: Sequence[Point], right_eye: Sequence[Point]) -> float | None:
    values = [v for v in (eye_aspect_ratio(left_eye), eye_aspect_ratio(right_eye)) if v is not None]
    return sum(values) / len(values) if len(values) == 2 else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
